// The planner's haproxy-route-tcp step: read and validate what the
// applications ask for, then give each listen port (or range) its listener,
// on ports no other listener holds.
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import type { RelationPolicy } from "../model/relationPolicy.js";
import type { PlacedService } from "../model/types.js";
import type {
  HaproxyRouteTcpRequest,
  SkippedTcpApp,
} from "../relations/haproxyRouteTcp/haproxyRouteTcpRequest.js";
import { readHaproxyRouteTcpRequests } from "../relations/haproxyRouteTcp/haproxyRouteTcpRequirers.js";
import { tcpBackendName } from "../relations/haproxyRouteTcp/tcpBackend.js";
import { tcpRouteServices } from "../relations/haproxyRouteTcp/tcpRoutes.js";
import { PEERS_SECTION_NAME } from "../relations/peer/peersSection.js";
import { supportsBandwidthLimits } from "./haproxyRoutes.js";
import { relationPolicyOf } from "./relationPolicyOf.js";

export interface TcpStepContext {
  /** Ports other listeners hold, and by whom: a TCP route may not take them. */
  readonly heldPorts: ReadonlyMap<number, string>;
  /** The certificate file of each hostname that has one, for routes that terminate TLS. */
  readonly certificateFileByHostname: ReadonlyMap<string, string>;
  /** Every certificate the unit serves, for a route that terminates TLS without an SNI. */
  readonly allCertificateFiles: readonly string[];
}

export interface TcpStep {
  readonly services: readonly PlacedService[];
  readonly served: readonly HaproxyRouteTcpRequest[];
  readonly skipped: readonly SkippedTcpApp[];
  readonly notes: readonly string[];
  /** A served route's rate limit is shared with the other haproxy units. */
  readonly sharesTables: boolean;
}

export function routeHaproxyRouteTcp(
  config: CharmConfig,
  inputs: HookInputs,
  policy: RelationPolicy,
  context: TcpStepContext,
): TcpStep {
  const apps = inputs.haproxyRouteTcpApps ?? [];
  if (apps.length === 0) {
    return { services: [], served: [], skipped: [], notes: [], sharesTables: false };
  }
  const read = readHaproxyRouteTcpRequests(apps, inputs.haproxyRouteTcpUnits ?? [], policy, {
    reservedPorts: new Set(context.heldPorts.keys()),
  });
  const sharesTables = read.requests.some((request) => request.rateLimit !== undefined);
  const rendered = tcpRouteServices(
    read.requests.filter((request) => request.targets.length > 0),
    {
      certificateFiles: context.certificateFileByHostname,
      allCertificateFiles: context.allCertificateFiles,
      ...(sharesTables && { peersSection: PEERS_SECTION_NAME }),
      bandwidthLimits: supportsBandwidthLimits(inputs.haproxyVersion),
      heldPorts: context.heldPorts,
    },
  );
  const backends = new Set(
    rendered.services.flatMap((service) =>
      (service.routeBackends ?? []).map((backend) => backend.name),
    ),
  );
  const served = read.requests.filter((request) => backends.has(tcpBackendName(request)));
  return {
    services: rendered.services,
    served,
    skipped: [...read.skipped, ...rendered.skipped],
    notes: rendered.notes,
    sharesTables: served.some((request) => request.rateLimit !== undefined),
  };
}

/** The SNIs haproxy terminates TLS for, for the certificates relation (read before the plan). */
export function wantedTcpHostnames(config: CharmConfig, inputs: HookInputs): string[] {
  const apps = inputs.haproxyRouteTcpApps ?? [];
  if (apps.length === 0) return [];
  const read = readHaproxyRouteTcpRequests(
    apps,
    inputs.haproxyRouteTcpUnits ?? [],
    relationPolicyOf(config, inputs),
    { reservedPorts: new Set() },
  );
  return read.requests.flatMap((request) =>
    request.tlsTerminate && request.enforceTls && request.sni !== undefined ? [request.sni] : [],
  );
}
