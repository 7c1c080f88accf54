// A reload only asks haproxy's master to load its file again, and the
// service manager's reload succeeds once it has asked, even when the master
// then cannot load the file: the old worker goes on serving the old one.
// Whether the file was loaded shows afterwards, on haproxy 2.6 as on 3.0: a
// new worker answers the admin socket (a failed load keeps the old worker and
// its pid), or the master says so in its output ("Loading success." or
// "Loading failure!"). The master CLI's `show proc` is no help: 2.6 counts a
// failed load in neither its reloads' "[failed: N]" nor anywhere else.

import { setTimeout as sleep } from "node:timers/promises";

import { NotLoadedError } from "../lib/errors.js";
import type { AskHaproxy } from "./runtimeServers.js";
import type { ServiceManager } from "./serviceManager.js";

/** How long a reloaded haproxy may take to load its file (many certificates take seconds). */
export const loadDeadlineMs = 60_000;
/** The admin socket is cheap to ask: a new worker is seen within this of its start. */
const pollMs = 25;
/**
 * haproxy's output costs a journalctl run to read: read when the new worker
 * is late (a failed load shows there), not at every poll.
 */
const outputEveryMs = 250;

/**
 * Reloads haproxy and resolves once it runs the new file; throws
 * NotLoadedError, with what haproxy printed, when it did not load it.
 */
export async function reloadConfirmed(
  service: ServiceManager,
  ask: AskHaproxy,
  deadlineMs = loadDeadlineMs,
): Promise<void> {
  const before = await workerPid(ask);
  await service.reload();
  const deadline = Date.now() + deadlineMs;
  // With no worker answering before (no admin socket yet), only haproxy's output can tell.
  let outputDue = before === undefined ? 0 : Date.now() + outputEveryMs;
  for (;;) {
    const worker = before === undefined ? undefined : await workerPid(ask);
    if (worker !== undefined && worker !== before) return;
    const late = Date.now() >= deadline;
    if (late || Date.now() >= outputDue) {
      const output = await service.reloadOutput();
      if (/Loading success\./.test(output)) return;
      if (/Loading failure!/.test(output)) {
        throw notLoaded(
          "haproxy could not load its new configuration and serves the previous one",
          output,
        );
      }
      if (late) {
        const seconds = Math.round(deadlineMs / 1000);
        throw notLoaded(`haproxy did not load its new configuration within ${seconds} s`, output);
      }
      outputDue = Date.now() + outputEveryMs;
    }
    await sleep(pollMs);
  }
}

function notLoaded(summary: string, output: string): NotLoadedError {
  const logged = output.trim() === "" ? "" : `\nhaproxy logged:\n${output.trim()}`;
  return new NotLoadedError(`${summary}${logged}`);
}

/** The pid of the worker answering the admin socket, or undefined when none answers. */
async function workerPid(ask: AskHaproxy): Promise<number | undefined> {
  const info = await ask("show info").catch(() => undefined);
  const pid = /^Pid: (\d+)$/m.exec(info ?? "")?.[1];
  return pid === undefined ? undefined : Number(pid);
}
