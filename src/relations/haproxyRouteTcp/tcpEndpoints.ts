// What the leader publishes on each haproxy-route-tcp relation: `endpoints`,
// the JSON list of `host:port` strings the library reads. A route with an SNI
// is reached by that name; otherwise at the VIP when there is one, else at
// every haproxy unit's address. `[]` for an application left out or not ready.
import type { HaproxyRouteTcpRequest } from "./haproxyRouteTcpRequest.js";
import { bracketed } from "../../model/bracketedAddress.js";

export interface TcpEndpointContext {
  /** The address clients reach every unit at (the `vip` option), if any. */
  readonly vip?: string;
  /** Every haproxy unit's address, this one included. */
  readonly unitAddresses: readonly string[];
}

export function tcpEndpoints(
  request: HaproxyRouteTcpRequest,
  context: TcpEndpointContext,
): string[] {
  const [first, last] = request.ports.listen;
  const ports = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  const hosts =
    request.sni !== undefined
      ? [request.sni]
      : context.vip !== undefined
        ? [context.vip]
        : [...new Set(context.unitAddresses)].sort();
  return hosts.flatMap((host) => ports.map((port) => `${bracketed(host)}:${port}`));
}

/** relation id -> the provider app bag to write; every haproxy-route-tcp relation gets an entry. */
export function tcpEndpointPublications(
  relationIds: readonly string[],
  served: readonly HaproxyRouteTcpRequest[],
  context: TcpEndpointContext,
): Map<string, Record<string, string>> {
  const byRelation = new Map(served.map((request) => [request.relationId, request]));
  return new Map(
    relationIds.map((relationId) => {
      const request = byRelation.get(relationId);
      const endpoints = request?.ready ? tcpEndpoints(request, context) : [];
      return [relationId, { endpoints: JSON.stringify(endpoints) }];
    }),
  );
}
