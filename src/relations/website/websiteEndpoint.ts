// Where a front end on `website` sends its traffic (pure).
import type { PlacedService } from "../../model/types.js";

/** `port` and `hostname` for a front end such as apache2: the one service its units ask for, else port 80. */
export function websiteEndpoint(
  services: readonly PlacedService[],
  requestedServices: ReadonlySet<string>,
  privateAddress: string,
): { hostname: string; port: string } {
  const [only] = requestedServices.size === 1 ? [...requestedServices] : [];
  const service = services.find((candidate) => candidate.name === only);
  if (service === undefined) return { hostname: privateAddress, port: "80" };
  const listensEverywhere = service.host === "0.0.0.0" || service.host === "::";
  return {
    hostname: listensEverywhere ? privateAddress : service.host,
    port: String(service.port),
  };
}
