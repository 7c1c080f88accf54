// The server state haproxy carries across a reload (`server-state-file`,
// `load-server-state-from-file global`): a server that is DOWN stays DOWN
// instead of taking traffic until its checks fail again, and weights and
// maintenance set at run time persist.
//
// haproxy applies a line's port (and, for `init-addr last`, its address)
// over the configuration's, so the file keeps only servers that the new
// configuration has with the same address and port: any other starts as
// the file describes it. A server given by name is left out too: the
// address its name had at the last start would win over what it resolves
// to now. So is a server that its check took DOWN and that has no check
// any more: nothing would ever bring it back up.
import { access, mkdir } from "node:fs/promises";
import { dirname } from "node:path";

import { configuredServers, isAddressLiteral } from "../model/serverDelta.js";
import { readIfExists, writeFileAtomic } from "../lib/atomicFile.js";
import type { AskHaproxy } from "./runtimeServers.js";

/** What haproxy accepts as a state file with no servers in it. */
const EMPTY_STATE = "1\n";

// `show servers state` columns (format 1).
const BACKEND = 1;
const NAME = 3;
const ADDRESS = 4;
const OPERATIONAL_STATE = 5;
const ADMIN_STATE = 6;
const PORT = 18;

/**
 * Writes the running haproxy's server state, cut down to what `configText`
 * agrees with; when haproxy cannot be asked, the previous file cut down the
 * same way.
 */
export async function saveServerState(
  ask: AskHaproxy,
  file: string,
  configText: string,
): Promise<void> {
  const dump = await ask("show servers state").catch(() => undefined);
  const source = dump?.startsWith("1\n") ? dump : ((await readIfExists(file)) ?? EMPTY_STATE);
  await writeFileAtomic(file, serverStateFor(source, configText), { mode: 0o600 });
}

/** Creates an empty state file when there is none, so haproxy never warns of a missing one. */
export async function ensureServerStateFile(file: string): Promise<void> {
  // Only whether it is there: the file can hold thousands of servers.
  const present = await access(file).then(
    () => true,
    () => false,
  );
  if (!present) {
    await mkdir(dirname(file), { recursive: true });
    await writeFileAtomic(file, EMPTY_STATE, { mode: 0o600 });
  }
}

/**
 * The lines of `state` whose server `configText` has at the same address
 * literal and port, less those of DOWN servers that `configText` does not check.
 */
export function serverStateFor(state: string, configText: string): string {
  const servers = configuredServers(configText);
  const lines = state.split("\n");
  const kept = lines.filter((line) => {
    if (!/^\d+ /.test(line)) return false;
    const row = line.split(" ");
    const server = servers.get(row[BACKEND] ?? "")?.find((entry) => entry.name === row[NAME]);
    if (server === undefined || String(server.port) !== row[PORT]) return false;
    // Stopped (DOWN) by no one's hand (no maintenance, which the line must carry over).
    const down = row[OPERATIONAL_STATE] === "0" && row[ADMIN_STATE] === "0";
    if (down && !server.options.includes("check")) return false;
    return isAddressLiteral(server.address) && server.address === row[ADDRESS];
  });
  const header = lines.find((line) => line.startsWith("# be_id"));
  return ["1", ...(header === undefined ? [] : [header]), ...kept, ""].join("\n");
}
