// Relation data may name its backends by DNS name. haproxy resolves them with
// the system's resolver when it loads its configuration, so the hook looks
// them up the same way (getaddrinfo) first: a name that leads to this
// machine's loopback, or to a link-local or multicast address, is refused
// like the address itself (model/relationPolicy.ts).
import { lookup } from "node:dns/promises";

import type { ResolvedHosts } from "../model/relationPolicy.js";

/** A lookup that has not answered by then counts as a name that does not resolve. */
const LOOKUP_TIMEOUT_MS = 3000;

/** The addresses each of `names` resolves to now; [] for one that does not resolve. */
export async function resolveRelationHosts(names: readonly string[]): Promise<ResolvedHosts> {
  const entries = await Promise.all(
    names.map(async (name) => [name, await addressesOf(name)] as const),
  );
  return Object.fromEntries(entries);
}

async function addressesOf(name: string): Promise<string[]> {
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
