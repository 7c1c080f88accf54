// The planner's haproxy-route step: read and validate what the applications
// ask for, build each one's backend, and place them on the shared 80/443
// front doors beside the classic services and the ingress routes (and on
// their own gRPC ports).
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import type { RelationPolicy } from "../model/relationPolicy.js";
import type { CertificateSource } from "../model/httpFrontends.js";
import type { PlacedService } from "../model/types.js";
import { haproxyRouteBackend } from "../relations/haproxyRoute/haproxyRouteBackend.js";
import {
  type HaproxyRoutePlacement,
  placeHaproxyRoutes,
} from "../relations/haproxyRoute/haproxyRoutePlacement.js";
import type { HaproxyRouteRequest } from "../relations/haproxyRoute/haproxyRouteRequest.js";
import { readHaproxyRouteRequests } from "../relations/haproxyRoute/haproxyRouteRequirers.js";
import { PEERS_SECTION_NAME } from "../relations/peer/peersSection.js";
import { externalHostname } from "../config/externalHostname.js";
import { relationPolicyOf } from "./relationPolicyOf.js";

export interface HaproxyRouteContext {
  readonly libDir: string;
  /** external_hostname, or "". */
  readonly externalHostname: string;
  /** Certificates served on 443 (external_hostname's, then the hostnames' crt-list). */
  readonly certificates: readonly CertificateSource[];
  /** The receive-ca-certs bundle, for HTTPS backends. */
  readonly caFile?: string;
  readonly defaultMode: string;
  /** The certificate file of each hostname that has one (external_hostname's included). */
  readonly hostnameCertificateFiles: ReadonlyMap<string, string>;
  /** Ports of the listeners that are not services (monitoring, exporter), and whose they are. */
  readonly reservedPorts: ReadonlyMap<number, string>;
  /** Services served on ports of their own (the monitoring listener), whose names are taken. */
  readonly reservedServices?: readonly PlacedService[];
}

export interface HaproxyRouteStep extends HaproxyRoutePlacement {
  /** Some backend's stick table is shared with the other haproxy units. */
  readonly sharesTables: boolean;
  readonly notes: readonly string[];
  /** Hostnames the served routes need a certificate for. */
  readonly hostnames: readonly string[];
}

export function routeHaproxyRoutes(
  config: CharmConfig,
  inputs: HookInputs,
  policy: RelationPolicy,
  services: readonly PlacedService[],
  context: HaproxyRouteContext,
): HaproxyRouteStep {
  const read = readHaproxyRouteRequests(
    inputs.haproxyRouteApps ?? [],
    inputs.haproxyRouteUnits ?? [],
    policy,
    {
      externalHostname: context.externalHostname,
      backendCasAvailable: context.caFile !== undefined,
    },
  );
  const sharesTables = read.requests.some((request) => request.rateLimit !== undefined);
  const notes: string[] = [];
  const offers = read.requests
    .filter((request) => request.targets.length > 0)
    .map((request) => {
      const backend = haproxyRouteBackend(request, {
        ...(context.caFile !== undefined && { caFile: context.caFile }),
        ...(sharesTables && { peersSection: PEERS_SECTION_NAME }),
        hsts: config.enable_hsts,
        bandwidthLimits: supportsBandwidthLimits(inputs.haproxyVersion),
      });
      // Each note names its backend already.
      notes.push(...backend.notes);
      return {
        request,
        backend: { name: request.service, options: backend.options, servers: backend.servers },
      };
    });
  const placed = placeHaproxyRoutes(services, offers, {
    libDir: context.libDir,
    certificates: context.certificates,
    defaultMode: context.defaultMode,
    hostnameCertificateFiles: context.hostnameCertificateFiles,
    reservedPorts: new Map([
      ...context.reservedPorts,
      // Reserved as soon as a table may be shared, so that no gRPC port takes it.
      ...(sharesTables ? [[config.peers_port, "peers (peers_port)"] as const] : []),
    ]),
    ...(context.reservedServices !== undefined && { reservedServices: context.reservedServices }),
  });
  return {
    ...placed,
    skipped: [...read.skipped, ...placed.skipped],
    sharesTables: sharesTables && placed.served.some((request) => request.rateLimit !== undefined),
    notes: [...notes, ...placed.notes],
    hostnames: routeHostnames(read.requests),
  };
}

/**
 * The hostnames the certificates relation asks for on behalf of
 * haproxy-route: those of every application whose data is valid, read before
 * the plan (the certificates decide what the plan serves on 443).
 */
export function wantedRouteHostnames(
  config: CharmConfig,
  inputs: HookInputs,
  backendCasAvailable: boolean,
): string[] {
  if ((inputs.haproxyRouteApps ?? []).length === 0) return [];
  const read = readHaproxyRouteRequests(
    inputs.haproxyRouteApps ?? [],
    inputs.haproxyRouteUnits ?? [],
    relationPolicyOf(config, inputs),
    { externalHostname: externalHostname(config), backendCasAvailable },
  );
  return routeHostnames(read.requests);
}

/** Every hostname a valid request routes, for the certificates relation. */
export function routeHostnames(requests: readonly HaproxyRouteRequest[]): string[] {
  return [...new Set(requests.flatMap((request) => request.hostnames))].sort();
}

/** bwlim filters came with haproxy 2.7; unknown counts as able (Ubuntu 24.04 has 2.8). */
export function supportsBandwidthLimits(version: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version ?? "");
  if (match === null) return true;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 2 || (major === 2 && minor >= 7);
}
