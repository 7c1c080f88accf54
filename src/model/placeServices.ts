// Gives every service a listening address and port, and settles services
// that claim the same port.
import { ServiceConflictError } from "../lib/errors.js";
import { compareText } from "./mergeServices.js";
import type { ParsedService } from "./parseServices.js";
import type { PlacedService, ServiceSpec } from "./types.js";

export interface Placement {
  readonly services: readonly PlacedService[];
  /** Services left out because a service with servers took their port. */
  readonly displaced: readonly string[];
}

export function completeService(service: ParsedService): ServiceSpec {
  return {
    serviceOptions: [],
    serverOptions: [],
    servers: [],
    backends: [],
    errorfiles: [],
    crts: [],
    ...service,
  };
}

export function countServers(service: ServiceSpec): number {
  const extra = [
    ...service.backends,
    ...(service.routes ?? []),
    ...(service.mappedRoutes?.backends ?? []),
    ...(service.routeBackends ?? []),
  ];
  return extra.reduce((sum, b) => sum + b.servers.length, service.servers.length);
}

export function hasServers(service: ServiceSpec): boolean {
  return countServers(service) > 0;
}

/**
 * Services without a host get 0.0.0.0; services without a port get ports
 * counting up by 2 from the highest port in use (or the monitoring port).
 */
export function assignHostPorts(
  services: readonly ServiceSpec[],
  monitoringPort: number,
): PlacedService[] {
  const usedPorts = services.flatMap((s) => (s.port === undefined ? [] : [s.port]));
  let lastPort = usedPorts.length > 0 ? Math.max(...usedPorts) : monitoringPort;
  const byName = [...services].sort((a, b) => compareText(a.name, b.name));
  const ports = new Map<string, number>();
  for (const service of byName) {
    if (service.port === undefined) {
      lastPort += 2;
      ports.set(service.name, lastPort);
    }
  }
  return services.map((service) => ({
    ...service,
    host: service.host ?? "0.0.0.0",
    port: service.port ?? (ports.get(service.name) as number),
  }));
}

/**
 * One port, one frontend. A service with no servers yields its port to one
 * that has servers (the default config's empty haproxy_service must not block
 * a related charm's service on port 80); two services with servers on one
 * port are an error the operator must settle.
 */
export function settlePortClaims(
  services: readonly PlacedService[],
  reservedPorts: ReadonlyMap<number, string>,
): Placement {
  const byPort = new Map<number, PlacedService[]>();
  for (const service of services) {
    byPort.set(service.port, [...(byPort.get(service.port) ?? []), service]);
  }
  const kept = new Set<PlacedService>();
  const displaced: string[] = [];
  for (const [port, claimants] of byPort) {
    const reservedBy = reservedPorts.get(port);
    if (reservedBy !== undefined) {
      throw new ServiceConflictError(port, [reservedBy, ...claimants.map((s) => s.name)]);
    }
    const withServers = claimants.filter(hasServers);
    if (withServers.length > 1) {
      throw new ServiceConflictError(
        port,
        withServers.map((s) => s.name),
      );
    }
    const winner = withServers[0] ?? (claimants[0] as PlacedService);
    kept.add(winner);
    displaced.push(...claimants.filter((s) => s !== winner).map((s) => s.name));
  }
  return {
    services: services.filter((s) => kept.has(s)).sort((a, b) => compareText(a.name, b.name)),
    displaced,
  };
}
