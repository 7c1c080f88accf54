// What the leader publishes on each haproxy-route relation: `endpoints`, the
// JSON list of URLs the library reads, `https://<hostname><path>` for every
// hostname and path (as Canonical's charm does, https even while a hostname
// still waits for its certificate: that is where the route is meant to be);
// `[]` for an application left out or not ready.
import type { HaproxyRouteRequest } from "./haproxyRouteRequest.js";

export function proxiedEndpoints(request: HaproxyRouteRequest): string[] {
  const paths = request.paths.length > 0 ? request.paths : [""];
  return request.hostnames.flatMap((hostname) => paths.map((path) => `https://${hostname}${path}`));
}

/** relation id -> the provider app bag to write; every haproxy-route relation gets an entry. */
export function endpointPublications(
  relationIds: readonly string[],
  served: readonly HaproxyRouteRequest[],
): Map<string, Record<string, string>> {
  const byRelation = new Map(served.map((request) => [request.relationId, request]));
  return new Map(
    relationIds.map((relationId) => {
      const request = byRelation.get(relationId);
      const endpoints = request?.ready ? proxiedEndpoints(request) : [];
      return [relationId, { endpoints: JSON.stringify(endpoints) }];
    }),
  );
}

/** What the get-proxied-endpoints action answers: every served backend's endpoints. */
export function endpointsByBackend(
  served: readonly HaproxyRouteRequest[],
): Record<string, readonly string[]> {
  return Object.fromEntries(served.map((request) => [request.service, proxiedEndpoints(request)]));
}
