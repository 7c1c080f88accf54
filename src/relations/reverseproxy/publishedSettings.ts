// What haproxy writes on its relations, as pure functions of the plan.
import yaml from "js-yaml";

import type { CharmConfig } from "../../config/charmConfig.js";
import { certificateOnly } from "../../lib/pemBundle.js";
import type { PlacedService } from "../../model/types.js";

/**
 * Services as the old charm listed them in `all_services`. Certificates and
 * error pages stay out: they may hold private keys and are nobody else's
 * business.
 */
export function servicesYaml(services: readonly PlacedService[]): string {
  return yaml.dump(
    services.map((service) => ({
      service_name: service.name,
      service_host: service.host,
      service_port: service.port,
      service_options: [...service.serviceOptions],
      servers: service.servers.map((s) => [s.name, s.address, s.port, s.options.join(" ")]),
      ...(service.backends.length > 0 && {
        backends: service.backends.map((backend) => ({
          backend_name: backend.name,
          servers: backend.servers.map((s) => [s.name, s.address, s.port, s.options.join(" ")]),
        })),
      }),
    })),
    { lineWidth: -1, noRefs: true },
  );
}

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

/** How the units behind haproxy learn its public address and certificate. */
export function reverseproxySettings(
  config: CharmConfig,
  publicAddress: string,
  selfSignedPem: string | undefined,
): Record<string, string> {
  const selfSigned = selfSignedPem === undefined ? undefined : certificateOnly(selfSignedPem);
  return {
    "public-address": publicAddress,
    ssl_cert:
      config.ssl_cert === "SELFSIGNED"
        ? selfSigned === undefined
          ? ""
          : Buffer.from(selfSigned).toString("base64")
        : config.ssl_cert,
  };
}
