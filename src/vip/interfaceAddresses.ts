// The unit's IPv4 addresses as `ip -4 -o addr show` lists them (pure parse):
// which interface carries the unit's address, with which prefix, and which
// VIPs this unit holds right now.

export interface InterfaceAddress {
  /** The interface, e.g. `eth0`. */
  readonly device: string;
  readonly address: string;
  readonly prefix: number;
  /** `secondary`: an extra address on the subnet, as keepalived adds a VIP. */
  readonly secondary: boolean;
}

// 2: eth0    inet 10.0.0.11/16 brd 10.0.255.255 scope global eth0\       valid_lft ...
const LINE = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)\s(.*)$/;

export function parseInterfaceAddresses(output: string): InterfaceAddress[] {
  return output.split("\n").flatMap((line) => {
    const match = LINE.exec(line.trim());
    if (match === null) return [];
    const [, device = "", address = "", prefix = "", rest = ""] = match;
    return [{ device, address, prefix: Number(prefix), secondary: /\bsecondary\b/.test(rest) }];
  });
}

/** The VIPs (of `wanted`) that are on one of this unit's interfaces. */
export function heldAddresses(
  addresses: readonly InterfaceAddress[],
  wanted: readonly string[],
): string[] {
  const present = new Set(addresses.map((entry) => entry.address));
  return wanted.filter((address) => present.has(address));
}
