// Relation data may name its backends by DNS name. haproxy resolves them with
// the system's resolver when it loads its configuration, so the hook looks
// them up the same way (getaddrinfo) first: a name that leads to this
// machine's loopback, or to a link-local or multicast address, is refused
// like the address itself (model/relationPolicy.ts).
import { withDeadline } from "../lib/withDeadline.js";
import type { ResolvedHosts } from "../model/relationPolicy.js";

/** Every address a name resolves to, as getaddrinfo gives them. */
export type LookupAddresses = (name: string) => Promise<string[]>;

export interface ResolveOptions {
  /** A lookup that has not answered by then counts as a name that does not resolve. */
  readonly deadlineMs?: number;
  readonly lookupAddresses?: LookupAddresses;
}

const LOOKUP_DEADLINE_MS = 3000;

const systemLookup: LookupAddresses = async (name) => {
  // Loaded only when relation data names a host: node's resolver costs a hook time to load.
  const { lookup } = await import("node:dns/promises");
  return (await lookup(name, { all: true, verbatim: true })).map((entry) => entry.address);
};

/** The addresses each of `names` resolves to now; [] for one that does not resolve. */
export async function resolveRelationHosts(
  names: readonly string[],
  { deadlineMs = LOOKUP_DEADLINE_MS, lookupAddresses = systemLookup }: ResolveOptions = {},
): Promise<ResolvedHosts> {
  const entries = await Promise.all(
    names.map(async (name) => {
      const answer = lookupAddresses(name).catch((): string[] => []);
      return [name, await withDeadline(answer, deadlineMs, (): string[] => [])] as const;
    }),
  );
  return Object.fromEntries(entries);
}
