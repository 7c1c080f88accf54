// haproxy's own `peers` section, from the peer relation: every haproxy unit
// of the application, so that a stick table marked `peers haproxy_peers` is
// pushed to all of them and a client is counted once, whichever unit it
// reaches. A peer's address is relation data: only a plain IP address that
// the relation policy accepts reaches haproxy.cfg.
import { isIP } from "node:net";

import type { RemoteUnit } from "../../juju/hookInputs.js";
import { ConfigError } from "../../lib/errors.js";
import { InvalidField, checkName, describe } from "../../model/fieldChecks.js";
import { RelationPolicy } from "../../model/relationPolicy.js";
import type { PeerLine, PeersSection } from "../../model/types.js";
import { compareNatural, unitSlug } from "../../model/unitNames.js";

/** What a stick table names to be shared: `stick-table ... peers haproxy_peers`. */
export const PEERS_SECTION_NAME = "haproxy_peers";

/** The key Juju itself writes in every unit's bag. */
const ADDRESS_KEY = "private-address";

export interface PeersReading {
  readonly section: PeersSection;
  /** One line per peer left out, for the log: which unit and why. */
  readonly warnings: readonly string[];
}

/** What the operator did not say: relation data is untrusted. */
const UNTRUSTED = new RelationPolicy({ trusted: false });

/**
 * The section for this unit (`unitName` at `privateAddress`, both Juju's own
 * word) and its `peers` on the peer relation, every one on `port` (the
 * `peers_port` option). A peer without a usable address is left out with a
 * warning; the others still share. Throws InvalidField when this unit's own
 * name or address cannot be printed, ConfigError for a port out of range.
 */
export function peersSection(
  unitName: string,
  privateAddress: string,
  peers: readonly RemoteUnit[],
  port: number,
  policy: RelationPolicy = UNTRUSTED,
): PeersReading {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError("peers_port", `${port} is outside 1-65535`);
  }
  const own: PeerLine = {
    name: checkName(unitSlug(unitName), "unit name"),
    address: plainAddress(privateAddress, ADDRESS_KEY),
    port,
  };
  const units = [{ unit: unitName, line: own }];
  const warnings: string[] = [];
  for (const peer of peers) {
    if (peer.unit === unitName) continue;
    try {
      const line = remotePeer(peer, port, policy);
      const clash = units.find((known) => known.line.name === line.name);
      if (clash !== undefined) {
        throw new InvalidField("unit name", `${line.name} is also ${clash.unit}'s peer name`);
      }
      // Two peers on one address and port would be one listener: the second never answers.
      if (line.address === own.address) {
        throw new InvalidField(ADDRESS_KEY, `${line.address} is this unit's own address`);
      }
      units.push({ unit: peer.unit, line });
    } catch (error) {
      if (!(error instanceof InvalidField)) throw error;
      warnings.push(
        `peer unit ${peer.unit} (${peer.relationId}) left out of the peers section: ${error.message}`,
      );
    }
  }
  // Unit order, so that every unit prints the same section and an unchanged
  // relation never changes haproxy.cfg.
  units.sort((a, b) => compareNatural(a.unit, b.unit));
  return {
    section: { name: PEERS_SECTION_NAME, localPeer: own.name, peers: units.map((u) => u.line) },
    warnings,
  };
}

function remotePeer(peer: RemoteUnit, port: number, policy: RelationPolicy): PeerLine {
  const name = checkName(unitSlug(peer.unit), "unit name");
  const address = plainAddress(peer.settings[ADDRESS_KEY], ADDRESS_KEY);
  // Never this machine's loopback, nor link-local, multicast or unspecified.
  return { name, address: policy.backendAddress(address, ADDRESS_KEY), port };
}

/**
 * An IPv4 or IPv6 address and nothing else: no name (haproxy would resolve
 * it once, at start), no brackets, no zone, no port.
 */
function plainAddress(value: unknown, field: string): string {
  if (typeof value !== "string" || !/^[0-9A-Fa-f:.]{2,45}$/.test(value) || isIP(value) === 0) {
    throw new InvalidField(field, `${describe(value)} is not a plain IPv4 or IPv6 address`);
  }
  return value;
}
