// Vitest's global set-up: says once a run, before any test file, that haproxy
// 3.0 is missing; the test files that would check with it leave it out quietly.
import { haproxy3Problem } from "./haproxyVersions.js";

// The haproxy and e2e projects each run this set-up, in one process.
const warned = Symbol.for("haproxy-charm.warnedMissingHaproxy3");

export default function warnMissingHaproxy3(): void {
  const state = globalThis as { [warned]?: boolean };
  if (state[warned]) return;
  state[warned] = true;
  const problem = haproxy3Problem();
  if (problem !== undefined) console.warn(`\nWARNING: haproxy 3.0 left out. ${problem}.\n`);
}
