// What the leader publishes on each ingress-per-unit relation: `ingress` =
// a YAML mapping of unit name to `{url: ...}`, in unit order, listing the
// units served (valid and placed); an empty value (Juju deletes the key)
// while none is. An HTTP unit's URL is its path (no trailing slash, as the
// requirer library's other providers write it); a TCP unit's is
// `<host>:<port>`, without a scheme.
import yaml from "js-yaml";

import { compareNatural } from "../../model/unitNames.js";
import type { ServedUnit } from "./unitPlacement.js";
import { unitRouteName } from "./unitRequirers.js";
import { bracketed } from "../../model/bracketedAddress.js";

export interface UnitUrlContext {
  readonly externalHostname: string;
  /** The leader's public address (or the VIP), for URLs without external_hostname. */
  readonly publicAddress: string;
  /** A certificate for external_hostname is served: HTTP URLs are https. */
  readonly tls: boolean;
}

export function unitUrl(served: ServedUnit, context: UnitUrlContext): string {
  const host = context.externalHostname || bracketed(context.publicAddress);
  if (served.tcpPort !== undefined) return `${host}:${served.tcpPort}`;
  const scheme = context.tls && context.externalHostname !== "" ? "https" : "http";
  return `${scheme}://${host}/${unitRouteName(served.request)}`;
}

/** relation id -> the provider app bag to write; every ingress-per-unit relation gets an entry. */
export function unitUrlPublications(
  relationIds: readonly string[],
  served: readonly ServedUnit[],
  context: UnitUrlContext,
): Map<string, Record<string, string>> {
  return new Map(
    relationIds.map((relationId) => {
      const units = served
        .filter((unit) => unit.request.relationId === relationId)
        .sort((a, b) => compareNatural(a.request.name, b.request.name));
      const urls = Object.fromEntries(
        units.map((unit) => [unit.request.name, { url: unitUrl(unit, context) }]),
      );
      return [relationId, { ingress: units.length === 0 ? "" : yaml.dump(urls) }];
    }),
  );
}
