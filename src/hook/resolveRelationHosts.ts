// Relation data may name its backends by DNS name. haproxy resolves them with
// the system's resolver when it loads its configuration, so the hook looks
// them up the same way (getaddrinfo) first: a name that leads to this
// machine's loopback, or to a link-local or multicast address, is refused
// like the address itself (model/relationPolicy.ts).
import type { ResolvedHosts } from "../model/relationPolicy.js";

/** A lookup that has not answered by then counts as a name that does not resolve. */
const LOOKUP_TIMEOUT_MS = 3000;

/** The addresses each of `names` resolves to now; [] for one that does not resolve. */
export async function resolveRelationHosts(names: readonly string[]): Promise<ResolvedHosts> {
  // Loaded only when relation data names a host: node's resolver costs a hook time to load.
  const { lookup } = await import("node:dns/promises");
  const entries = await Promise.all(
    names.map(async (name) => [name, await addressesOf(lookup, name)] as const),
  );
  return Object.fromEntries(entries);
}

type Lookup = (typeof import("node:dns/promises"))["lookup"];

async function addressesOf(lookup: Lookup, name: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), LOOKUP_TIMEOUT_MS);
  });
  const answer = lookup(name, { all: true, verbatim: true }).then(
    (found) => found.map((entry) => entry.address),
    () => [],
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
