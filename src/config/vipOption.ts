// `vip` and `vip_router_id`: the floating addresses the haproxy units hold
// between them, parsed into typed input (pure). Checks that need the unit's
// network (its subnet, the units' own addresses) are in vipPlan.ts.
import type { CharmConfig } from "./charmConfig.js";
import { ConfigError } from "../lib/errors.js";
import { ipv4Number } from "../lib/ipv4.js";

/** 224.0.0.0: multicast and above are no address a unit holds. */
const FIRST_MULTICAST = 224 * 2 ** 24;

export interface VipAddress {
  readonly address: string;
  /** The prefix length the operator wrote, if any; else the interface's is used. */
  readonly prefix?: number;
}

export interface VipOption {
  readonly addresses: readonly VipAddress[];
  /** 1-255; undefined: derived from the application's name. */
  readonly routerId?: number;
}

/** The option's addresses, or undefined when `vip` is empty (VIP off). */
export function parseVipOption(
  config: Pick<CharmConfig, "vip" | "vip_router_id">,
): VipOption | undefined {
  const words = config.vip
    .trim()
    .split(/\s+/)
    .filter((word) => word !== "");
  const routerId = config.vip_router_id;
  if (!Number.isInteger(routerId) || routerId < 0 || routerId > 255) {
    throw new ConfigError(
      "vip_router_id",
      `must be 1-255 (0 derives it from the application name), not ${routerId}`,
    );
  }
  if (words.length === 0) return undefined;
  const addresses = words.map(parseVipAddress);
  const seen = new Set<string>();
  for (const { address } of addresses) {
    if (seen.has(address)) throw new ConfigError("vip", `${address} is listed twice`);
    seen.add(address);
  }
  return { addresses, ...(routerId !== 0 && { routerId }) };
}

function parseVipAddress(word: string): VipAddress {
  const [address = "", prefixText, ...rest] = word.split("/");
  const prefix = prefixText === undefined ? undefined : Number(prefixText);
  const number = ipv4Number(address);
  if (
    number === undefined ||
    rest.length > 0 ||
    (prefix !== undefined && (!/^\d{1,2}$/.test(prefixText ?? "") || prefix < 1 || prefix > 32))
  ) {
    throw new ConfigError(
      "vip",
      `${JSON.stringify(word)} is not an IPv4 address (a.b.c.d, or a.b.c.d/prefix with a prefix of 1-32)`,
    );
  }
  if (number === 0 || address.startsWith("127.") || number >= FIRST_MULTICAST) {
    throw new ConfigError("vip", `${address} is not a unicast address a unit can hold`);
  }
  return prefix === undefined ? { address } : { address, prefix };
}

/** The VIPs when the option parses, else none (pure): what relations and peering use. */
export function floatingAddresses(config: Pick<CharmConfig, "vip" | "vip_router_id">): string[] {
  try {
    return parseVipOption(config)?.addresses.map((entry) => entry.address) ?? [];
  } catch (error) {
    if (error instanceof ConfigError) return [];
    throw error;
  }
}

/** The first VIP, which the relations advertise instead of the unit's address. */
export function advertisedVip(
  config: Pick<CharmConfig, "vip" | "vip_router_id">,
): string | undefined {
  return floatingAddresses(config)[0];
}
