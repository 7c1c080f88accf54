// active-passive peering: every haproxy unit forwards each shared service to
// the first working peer, which does the real balancing one port up. Peers
// exchange their services on the `peer` relation as `all_services`, as the
// old charm did, so units of both charms understand each other mid-refresh.
import yaml from "js-yaml";

import type { RemoteUnit } from "../../juju/hookInputs.js";
import { completeService } from "../../model/placeServices.js";
import type { PlacedService, ServerSpec } from "../../model/types.js";
import { unitSlug } from "../../model/unitNames.js";

export type PeeringMode = "active-passive" | "active-active";

export interface PeerService {
  readonly name: string;
  readonly port: number;
}

/** What a peer says it serves; a peer with unreadable data is simply not a peer yet. */
export function peerServices(peer: RemoteUnit): PeerService[] {
  const text = peer.settings.all_services;
  if (text === undefined || text.length > 256 * 1024) return [];
  let document: unknown;
  try {
    document = yaml.load(text);
  } catch {
    return [];
  }
  if (!Array.isArray(document)) return [];
  return document.flatMap((entry: unknown) => {
    if (typeof entry !== "object" || entry === null) return [];
    const { service_name: name, service_port: port } = entry as Record<string, unknown>;
    const portNumber = Number(port);
    return typeof name === "string" &&
      Number.isInteger(portNumber) &&
      portNumber > 0 &&
      portNumber < 65535
      ? [{ name, port: portNumber }]
      : [];
  });
}

export interface PeeringContext {
  readonly unitName: string;
  readonly privateAddress: string;
  readonly peers: readonly RemoteUnit[];
  /** The `vip` addresses, which move between units. */
  readonly floatingAddresses?: readonly string[];
}

// A peer whose haproxy stopped (its unit may have just lost the VIP) is
// marked down at the first connection it refuses, not after three failed
// health checks (6 s): traffic moves to the next peer at once, and the
// checks bring it back.
const FORWARDER_CHECKS = [
  "check",
  "observe",
  "layer4",
  "error-limit",
  "1",
  "on-error",
  "mark-down",
];

/**
 * For each service that at least one peer also runs, the real service moves
 * to port+1 as `<name>_be`, and a tcp service on the original port forwards
 * to every unit's port+1, all but the first (by unit name) as backup.
 */
export function applyActivePassive(
  services: readonly PlacedService[],
  context: PeeringContext,
): PlacedService[] {
  const peerEntries = context.peers.flatMap((peer) => {
    const address = peer.settings["private-address"];
    if (address === undefined || !/^[A-Za-z0-9_.:%[\]-]{1,255}$/.test(address)) return [];
    return peerServices(peer).map((service) => ({ unit: peer.unit, address, service }));
  });

  return services.flatMap((service): PlacedService[] => {
    const sharing = peerEntries.filter((entry) => entry.service.name === service.name);
    if (sharing.length === 0) return [service];

    const servers: ServerSpec[] = [
      ...sharing.map((entry) => ({
        name: unitSlug(entry.unit),
        address: entry.address,
        port: String(entry.service.port + 1),
        options: FORWARDER_CHECKS,
      })),
      {
        name: unitSlug(context.unitName),
        address: context.privateAddress,
        port: String(service.port + 1),
        options: FORWARDER_CHECKS,
      },
    ]
      // Plain string order, as the old charm sorted: every unit, old or new,
      // must pick the same first peer.
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((server, i) =>
        i === 0 ? server : { ...server, options: [...server.options, "backup"] },
      );

    const forwarder: PlacedService = {
      ...completeService({ name: service.name }),
      host: service.host,
      port: service.port,
      serviceOptions: [
        "balance leastconn",
        "mode tcp",
        "option tcplog",
        // A connection the peer refuses goes, on its last retry, to the next one.
        "option redispatch",
        ...service.serviceOptions.filter((option) => option.includes("timeout")),
      ],
      servers,
    };
    const balancer: PlacedService = {
      ...service,
      // The forwarders reach port+1 at each unit's own address: a service bound
      // to a VIP has its balancer there, not on the VIP only the holder has.
      ...(context.floatingAddresses?.includes(service.host) && { host: context.privateAddress }),
      name: `${service.name}_be`,
      port: service.port + 1,
    };
    return [forwarder, balancer];
  });
}
