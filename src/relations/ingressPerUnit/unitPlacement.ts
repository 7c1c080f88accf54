// Where ingress-per-unit units are served. HTTP units' routes share the
// front doors on port 80 (and 443 when a certificate for external_hostname
// is served) with the classic services, ingress and haproxy-route, through
// onHttpPort. TCP units each get a listener of their own: the i-th TCP unit,
// in relation id then unit order, listens on the base port + 2i, so that a
// unit keeps its port while units join after it; the port above each is kept
// for active-passive peering, which moves a service's balancer one port up
// (relations/peer/peering.ts). A unit whose name or path
// another listener, backend or ingress route already has, or whose port is
// held, is left out, named.
import {
  HTTPS_PORT,
  HTTP_PORT,
  type HttpPortClaim,
  onHttpPort,
} from "../../model/httpFrontends.js";
import type { HttpRoute, PlacedService } from "../../model/types.js";
import type { SkippedUnitRequest, UnitRequest } from "./unitRequirers.js";
import {
  type UnitRouteContext,
  unitHttpRoute,
  unitTcpListener,
  unitTcpServiceName,
} from "./unitRoutes.js";

export interface UnitPlacementContext extends UnitRouteContext {
  /** The file of the certificates relation's certificate; absent, no HTTPS. */
  readonly certificateFile?: string;
  /** The defaults section's mode, which a frontend without `mode` inherits. */
  readonly defaultMode: string;
  /** The first TCP unit's port (ingress_per_unit_tcp_base_port); the i-th's is this + 2i. */
  readonly tcpBasePort: number;
  /** Ports of the listeners that are not services (monitoring, exporter, peers), and whose they are. */
  readonly reservedPorts: ReadonlyMap<number, string>;
}

/** A served unit, and where: its route's name, or its listener's port. */
export interface ServedUnit {
  readonly request: UnitRequest;
  /** The TCP listener's port; absent for an HTTP unit. */
  readonly tcpPort?: number;
}

export interface UnitPlacement {
  readonly services: readonly PlacedService[];
  readonly served: readonly ServedUnit[];
  /** The served HTTP units' backend names, each written once though on two ports. */
  readonly routeNames: readonly string[];
  readonly skipped: readonly SkippedUnitRequest[];
}

export function placeUnits(
  services: readonly PlacedService[],
  requests: readonly UnitRequest[],
  context: UnitPlacementContext,
): UnitPlacement {
  if (requests.length === 0) return { services, served: [], routeNames: [], skipped: [] };
  const taken = new Map<string, string>();
  const paths = new Set<string>();
  for (const service of services) {
    taken.set(service.name, `service ${service.name}`);
    for (const backend of service.backends) taken.set(backend.name, `service ${service.name}`);
    for (const route of service.routes ?? []) {
      taken.set(route.name, `an ingress route`);
      paths.add(route.pathPrefix);
    }
  }
  const heldPorts = new Map(context.reservedPorts);
  for (const service of services) heldPorts.set(service.port, `service ${service.name}`);

  const skipped: SkippedUnitRequest[] = [];
  const skip = (request: UnitRequest, reason: string) =>
    skipped.push({ relationId: request.relationId, unit: request.unit, reason, invalid: true });
  const served: ServedUnit[] = [];
  const routes: HttpRoute[] = [];
  const listeners: PlacedService[] = [];
  let tcpIndex = 0;
  for (const request of requests) {
    if (request.mode === "tcp") {
      const port = context.tcpBasePort + 2 * tcpIndex;
      tcpIndex += 1;
      const name = unitTcpServiceName(request);
      const holder = heldPorts.get(port) ?? heldPorts.get(port + 1);
      if (port + 1 > 65535) {
        skip(request, `mode: its TCP port ${port} (and ${port + 1} for peering) is above 65534`);
      } else if ([HTTP_PORT, HTTPS_PORT].some((kept) => kept === port || kept === port + 1)) {
        skip(request, `mode: its TCP port ${port} is kept for the HTTP front doors`);
      } else if (holder !== undefined) {
        skip(request, `mode: its TCP port ${port} or ${port + 1} is already served by ${holder}`);
      } else if (taken.has(name)) {
        skip(request, `name: its listener's name ${name} is already used by ${taken.get(name)}`);
      } else {
        heldPorts.set(port, `ingress-per-unit ${request.unit}`);
        heldPorts.set(port + 1, `ingress-per-unit ${request.unit} (peering)`);
        taken.set(name, `ingress-per-unit ${request.unit}`);
        listeners.push(unitTcpListener(request, port));
        served.push({ request, tcpPort: port });
      }
      continue;
    }
    const route = unitHttpRoute(request, context);
    if (paths.has(route.pathPrefix)) {
      skip(request, `name: the path ${route.pathPrefix} is already an ingress route`);
    } else if (taken.has(route.name)) {
      skip(
        request,
        `name: its backend name ${route.name} is already used by ${taken.get(route.name)}`,
      );
    } else {
      taken.set(route.name, `ingress-per-unit ${request.unit}`);
      paths.add(route.pathPrefix);
      routes.push(route);
      served.push({ request });
    }
  }

  let placed: PlacedService[] = [...services, ...listeners];
  if (routes.length > 0) {
    const claim = (port: number, certificateFiles: readonly string[]): HttpPortClaim => ({
      port,
      certificates: certificateFiles.map((path) => ({ kind: "file" as const, path })),
      defaultMode: context.defaultMode,
      claimant: "ingress-per-unit",
    });
    const add = (added: readonly HttpRoute[]) => (service: PlacedService) => ({
      ...service,
      routes: [...(service.routes ?? []), ...added],
    });
    placed = onHttpPort(placed, claim(HTTP_PORT, []), add(routes));
    if (context.certificateFile !== undefined) {
      // Over HTTPS there is nothing to redirect.
      const secure = routes.map((route) => ({ ...route, redirectHttps: false }));
      placed = onHttpPort(placed, claim(HTTPS_PORT, [context.certificateFile]), add(secure));
    }
  }
  return {
    services: placed,
    served,
    routeNames: routes.map((route) => route.name),
    skipped,
  };
}
