// Where haproxy-route applications are served: on the shared front doors,
// port 80 always and 443 once a certificate is served there, each through one
// map of `<hostname><path> <backend>` keys (model/httpFrontends.ts,
// model/proxyStanzas.ts), and on its own external_grpc_port when it asks
// for one (grpcListeners.ts). A backend name or a gRPC port already used by
// haproxy leaves the application out.
import {
  type CertificateSource,
  HTTPS_PORT,
  HTTP_PORT,
  onHttpPort,
} from "../../model/httpFrontends.js";
import type {
  ManagedFile,
  MappedRoutes,
  PlacedService,
  RouteBackendSpec,
} from "../../model/types.js";
import { grpcListeners, withoutGrpcClashes } from "./grpcListeners.js";
import type { HaproxyRouteRequest, SkippedRouteApp } from "./haproxyRouteRequest.js";

export interface RouteOffer {
  readonly request: HaproxyRouteRequest;
  readonly backend: RouteBackendSpec;
}

export interface HaproxyRoutePlacementContext {
  readonly libDir: string;
  /** Certificates served on 443; empty, the routes are served on 80 only. */
  readonly certificates: readonly CertificateSource[];
  /** The defaults section's mode, which a frontend without `mode` inherits. */
  readonly defaultMode: string;
  /** The certificate file of each hostname that has one, for the gRPC listeners. */
  readonly hostnameCertificateFiles?: ReadonlyMap<string, string>;
  /** Ports held by listeners that are not services (monitoring, exporter, peers), and by whom. */
  readonly reservedPorts?: ReadonlyMap<number, string>;
  /**
   * Services haproxy runs away from the shared front doors (the monitoring
   * listener): a route may not take their names either, or its map line
   * would send the world to them.
   */
  readonly reservedServices?: readonly PlacedService[];
}

export interface HaproxyRoutePlacement {
  readonly services: readonly PlacedService[];
  /** The requests haproxy serves. */
  readonly served: readonly HaproxyRouteRequest[];
  readonly skipped: readonly SkippedRouteApp[];
  /** The route map and the redirect list, written before haproxy.cfg. */
  readonly files: readonly ManagedFile[];
  /** What waits (a gRPC port for its certificate), for the log. */
  readonly notes: readonly string[];
}

/** Where the route map and the redirect list live: the charm owns every file in it. */
export function routeFilesDir(libDir: string): string {
  return `${libDir}/routes`;
}

export function routeMapPath(libDir: string): string {
  return `${routeFilesDir(libDir)}/haproxy-route.map`;
}

export function redirectListPath(libDir: string): string {
  return `${routeFilesDir(libDir)}/redirect-to-https.lst`;
}

/** The map keys of a request: every hostname with every path (`/` without paths). */
export function routeKeys(request: HaproxyRouteRequest): string[] {
  const paths = request.paths.length > 0 ? request.paths : ["/"];
  return request.hostnames.flatMap((hostname) => paths.map((path) => `${hostname}${path}`));
}

export function placeHaproxyRoutes(
  services: readonly PlacedService[],
  offers: readonly RouteOffer[],
  context: HaproxyRoutePlacementContext,
): HaproxyRoutePlacement {
  const taken = new Map<string, string>();
  for (const service of [...services, ...(context.reservedServices ?? [])]) {
    for (const name of [
      service.name,
      ...service.backends.map((backend) => backend.name),
      ...(service.routes ?? []).map((route) => route.name),
    ]) {
      taken.set(name, service.name);
    }
  }
  const skipped: SkippedRouteApp[] = [];
  const named = offers.filter((offer) => {
    const holder = taken.get(offer.backend.name);
    if (holder === undefined) return true;
    skipped.push({
      relationId: offer.request.relationId,
      app: offer.request.app,
      reason: `service: ${offer.backend.name} is already a service or backend of haproxy's (in ${holder})`,
      invalid: true,
    });
    return false;
  });
  const heldPorts = new Map(context.reservedPorts);
  for (const service of services) heldPorts.set(service.port, `service ${service.name}`);
  const routeBackends = new Map(named.map((offer) => [offer.backend.name, "haproxy-route"]));
  const grpc = withoutGrpcClashes(named, heldPorts, new Map([...taken, ...routeBackends]));
  skipped.push(...grpc.skipped);
  const placed = grpc.kept;
  if (placed.length === 0) return { services, served: [], skipped, files: [], notes: [] };

  const mapFile = routeMapPath(context.libDir);
  const redirected = placed.filter((offer) => !offer.request.allowHttp);
  const redirectFile = redirected.length > 0 ? redirectListPath(context.libDir) : undefined;
  const mapped: MappedRoutes = {
    mapFile,
    ...(redirectFile !== undefined && { redirectFile }),
    backends: placed.map((offer) => offer.backend),
  };
  const add = (service: PlacedService): PlacedService => ({ ...service, mappedRoutes: mapped });
  const claim = { defaultMode: context.defaultMode, claimant: "haproxy-route" };
  let placedServices = onHttpPort(services, { ...claim, port: HTTP_PORT, certificates: [] }, add);
  if (context.certificates.length > 0) {
    placedServices = onHttpPort(
      placedServices,
      { ...claim, port: HTTPS_PORT, certificates: context.certificates },
      add,
    );
  }
  const served = placed.map((offer) => offer.request);
  const listeners = grpcListeners(served, {
    certificateFiles: context.hostnameCertificateFiles ?? new Map(),
  });
  const mapLines = placed
    .flatMap((offer) => routeKeys(offer.request).map((key) => `${key} ${offer.backend.name}`))
    .sort();
  return {
    services: [...placedServices, ...listeners.services],
    served,
    skipped,
    files: [
      { path: mapFile, content: `${mapLines.join("\n")}\n`, mode: 0o644, secret: false },
      ...(redirectFile !== undefined
        ? [
            {
              path: redirectFile,
              content: `${redirected
                .map((offer) => offer.backend.name)
                .sort()
                .join("\n")}\n`,
              mode: 0o644,
              secret: false,
            },
          ]
        : []),
    ],
    notes: listeners.notes,
  };
}
