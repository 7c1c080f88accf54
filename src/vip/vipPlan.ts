// What keepalived needs on this unit, from the option, the unit's network and
// its peers (pure): the interface, the unicast peers, the priority and the
// virtual router id, each VIP with its prefix. An address outside the unit's
// subnet, or one a unit already has, is the operator's error and names `vip`.
// A peer's address is another unit's relation data: only dotted-quad IPv4
// reaches keepalived.conf, and a peer with anything else is left out.
import { ConfigError } from "../lib/errors.js";
import type { InterfaceAddress } from "./interfaceAddresses.js";
import { broadcastOf, inSubnet, ipv4Number, ipv4Text, networkOf } from "../lib/ipv4.js";
import type { VipOption } from "../config/vipOption.js";

export interface VipUnit {
  readonly unit: string;
  readonly address: string;
}

export interface VipContext {
  readonly unitName: string;
  /** The unit's address (its private address), which VRRP speaks from. */
  readonly unitAddress: string;
  /** The unit's IPv4 addresses, as `ip -4 -o addr show` lists them. */
  readonly interfaces: readonly InterfaceAddress[];
  /** The other haproxy units on the peer relation that published an address. */
  readonly peers: readonly VipUnit[];
}

export interface VipPlan {
  readonly device: string;
  readonly sourceAddress: string;
  /** Sorted, so the same peers give the same file. */
  readonly peerAddresses: readonly string[];
  readonly priority: number;
  readonly routerId: number;
  /** `address/prefix`, in the option's order. */
  readonly addresses: readonly string[];
  /** The bare addresses, for the holder check and the status. */
  readonly bareAddresses: readonly string[];
  /** Peers left out: their address is not IPv4. */
  readonly ignoredPeers: readonly VipUnit[];
}

export function planVip(option: VipOption, context: VipContext): VipPlan {
  const own = context.interfaces.find(
    (entry) => entry.address === context.unitAddress && !entry.secondary,
  );
  if (own === undefined) {
    throw new ConfigError(
      "vip",
      `no interface of this unit carries its address ${context.unitAddress} (IPv4 only)`,
    );
  }
  const network = ipv4Number(own.address) ?? 0;
  const subnet = `${ipv4Text(networkOf(network, own.prefix))}/${own.prefix}`;
  const peers = context.peers.filter((peer) => usablePeerAddress(peer.address));
  const units = [{ unit: context.unitName, address: context.unitAddress }, ...peers];
  const addresses = option.addresses.map(({ address, prefix }) => {
    const number = ipv4Number(address) ?? 0;
    if (!inSubnet(number, network, own.prefix)) {
      throw new ConfigError(
        "vip",
        `${address} is not in this unit's subnet ${subnet} (${own.device})`,
      );
    }
    if (number === networkOf(network, own.prefix) || number === broadcastOf(network, own.prefix)) {
      throw new ConfigError("vip", `${address} is the network or broadcast address of ${subnet}`);
    }
    const holder = units.find((unit) => unit.address === address);
    if (holder !== undefined) {
      throw new ConfigError("vip", `${address} is the address of unit ${holder.unit}`);
    }
    return `${address}/${prefix ?? own.prefix}`;
  });
  const appName = context.unitName.split("/")[0] ?? context.unitName;
  return {
    device: own.device,
    sourceAddress: context.unitAddress,
    peerAddresses: [...new Set(peers.map((peer) => peer.address))]
      .filter((address) => address !== context.unitAddress)
      .sort(),
    priority: priorityOf(
      context.unitName,
      units.map((unit) => unit.unit),
    ),
    routerId: option.routerId ?? routerIdOf(appName),
    addresses,
    bareAddresses: option.addresses.map((entry) => entry.address),
    ignoredPeers: context.peers.filter((peer) => !usablePeerAddress(peer.address)),
  };
}

/** An address keepalived may unicast to: dotted-quad IPv4, nothing else on the line. */
export function usablePeerAddress(address: string): boolean {
  return ipv4Number(address) !== undefined;
}

/**
 * Priorities by unit number, highest first and 20 apart (a fifth of keepalived's
 * skew between them), so that when all start at once the lowest-numbered unit
 * takes the address. With `nopreempt` they only matter at such a start.
 */
export function priorityOf(unitName: string, units: readonly string[]): number {
  const rank = [...new Set(units)].sort((a, b) => unitNumber(a) - unitNumber(b)).indexOf(unitName);
  return rank < 10 ? 250 - 20 * rank : Math.max(1, 60 - rank);
}

/**
 * 1-255 from the application's name (FNV-1a), so that two applications on one
 * network are unlikely to collide; `vip_router_id` settles it when they do.
 */
export function routerIdOf(appName: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(appName, "utf8")) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return (hash % 255) + 1;
}

function unitNumber(unit: string): number {
  return Number(unit.split("/")[1] ?? Number.MAX_SAFE_INTEGER);
}
