// "holds VIP ..." in the status of the unit that has the address (pure).
// keepalived moves the address between hooks, so update-status looks again.

export interface VipStatusRecord {
  readonly addresses: readonly string[];
  /** The status the last hook set, without the VIP part. */
  readonly status: string;
  readonly message: string;
  /** The VIPs this unit held when that status was set. */
  readonly held: readonly string[];
  /** The unit has been ready to hold the VIP (vipReadiness.ts). */
  readonly settled?: boolean;
  /** The `vip-peers` this unit last published on the peer relation. */
  readonly published?: string;
  /** keepalived has run with the charm's configuration (keepalivedConfig.ts `firstStart`). */
  readonly keepalivedStarted?: boolean;
}

export function withHeldVips(message: string, held: readonly string[]): string {
  if (held.length === 0) return message;
  return `${message}; holds VIP${held.length > 1 ? "s" : ""} ${held.join(" ")}`;
}

export function sameHolding(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((address, index) => address === b[index]);
}

export function parseVipStatusRecord(text: string | undefined): VipStatusRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<VipStatusRecord>;
    const strings = (list: unknown) =>
      Array.isArray(list) && list.every((item) => typeof item === "string");
    if (
      strings(value.addresses) &&
      strings(value.held) &&
      typeof value.status === "string" &&
      typeof value.message === "string"
    ) {
      return value as VipStatusRecord;
    }
  } catch {
    // a torn or foreign file: as if there were none
  }
  return undefined;
}
