// What the leader publishes on each ingress relation: `ingress` =
// `{"url": ...}` once the application is served and every unit has written
// `host`; an empty value (Juju deletes the key) until then.
import type { IngressRequest } from "./ingressRequirers.js";
import { routeName } from "./ingressRoutes.js";
import { bracketed } from "../../model/bracketedAddress.js";

export interface UrlContext {
  readonly externalHostname: string;
  /** The leader's public address, for URLs without external_hostname. */
  readonly publicAddress: string;
  /** A certificate for external_hostname is served: URLs are https. */
  readonly tls: boolean;
}

export function ingressUrl(request: IngressRequest, context: UrlContext): string {
  const host = context.externalHostname || bracketed(context.publicAddress);
  const scheme = context.tls && context.externalHostname !== "" ? "https" : "http";
  return `${scheme}://${host}/${routeName(request)}/`;
}

/** relation id -> the provider app bag to write; every ingress relation gets an entry. */
export function ingressPublications(
  relationIds: readonly string[],
  served: readonly IngressRequest[],
  context: UrlContext,
): Map<string, Record<string, string>> {
  const byRelation = new Map(served.map((request) => [request.relationId, request]));
  return new Map(
    relationIds.map((relationId) => {
      const request = byRelation.get(relationId);
      const url = request?.ready ? ingressUrl(request, context) : undefined;
      return [relationId, { ingress: url === undefined ? "" : JSON.stringify({ url }) }];
    }),
  );
}
