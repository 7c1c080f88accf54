// The planner's ingress-per-unit step: read and validate each unit's
// request, then place its route on the shared 80/443 front doors or its TCP
// listener on a port of its own, beside what earlier steps placed.
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import { ConfigError } from "../lib/errors.js";
import type { RelationPolicy } from "../model/relationPolicy.js";
import type { PlacedService } from "../model/types.js";
import { type UnitPlacement, placeUnits } from "../relations/ingressPerUnit/unitPlacement.js";
import { readUnitRequests } from "../relations/ingressPerUnit/unitRequirers.js";

export interface IngressPerUnitContext {
  /** external_hostname, or "". */
  readonly externalHostname: string;
  /** The certificates relation's certificate for external_hostname, once it has arrived. */
  readonly certificateFile?: string;
  readonly defaultMode: string;
  /** Ports of the listeners that are not services (monitoring, exporter), and whose they are. */
  readonly reservedPorts: ReadonlyMap<number, string>;
}

export function routeIngressPerUnit(
  config: CharmConfig,
  inputs: HookInputs,
  policy: RelationPolicy,
  services: readonly PlacedService[],
  context: IngressPerUnitContext,
): UnitPlacement {
  const read = readUnitRequests(inputs.ingressPerUnitUnits ?? [], policy);
  const base = config.ingress_per_unit_tcp_base_port;
  if (read.requests.some((request) => request.mode === "tcp") && !(base >= 1 && base <= 65535)) {
    throw new ConfigError("ingress_per_unit_tcp_base_port", `${base} is outside 1-65535`);
  }
  const placed = placeUnits(services, read.requests, {
    externalHostname: context.externalHostname,
    tls: context.certificateFile !== undefined,
    hsts: config.enable_hsts,
    ...(context.certificateFile !== undefined && { certificateFile: context.certificateFile }),
    defaultMode: context.defaultMode,
    tcpBasePort: base,
    reservedPorts: new Map([
      ...context.reservedPorts,
      // haproxy-route may share stick tables on it later in the plan.
      [config.peers_port, "peers (peers_port)"],
    ]),
  });
  return { ...placed, skipped: [...read.skipped, ...placed.skipped] };
}
