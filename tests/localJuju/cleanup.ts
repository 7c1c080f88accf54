// Nothing the local model starts may outlive it: every live model registers
// here, and exit, SIGINT and SIGTERM tear them all down. Models left behind
// by a process that was killed outright are swept when the next one starts.

import { readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { namespacesSync, removeNamespaceSync } from "./network.js";

export interface Disposable {
  destroySync(): void;
}

/** Prefix of every namespace and directory a model creates: `jmodel-<pid>-<n>`. */
export const resourcePrefix = "jmodel";

const live = new Set<Disposable>();
let handlersInstalled = false;

export function track(resource: Disposable): void {
  installHandlers();
  live.add(resource);
}

export function untrack(resource: Disposable): void {
  live.delete(resource);
}

export function destroyAllSync(): void {
  for (const resource of [...live]) {
    live.delete(resource);
    try {
      resource.destroySync();
    } catch (error) {
      process.stderr.write(`local model cleanup: ${String(error)}\n`);
    }
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", destroyAllSync);
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(signal, () => {
      const count = live.size;
      destroyAllSync();
      if (count > 0) process.stderr.write(`\n${signal}: local model torn down\n`);
      process.exit(code);
    });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces and directories of models whose process no longer exists. */
export function sweepAbandonedModels(): void {
  const owner = new RegExp(`^${resourcePrefix}-(\\d+)-`);
  const abandoned = (name: string): boolean => {
    const pid = owner.exec(name)?.[1];
    return pid !== undefined && !isAlive(Number(pid));
  };
  // Machines before switches, so nothing is left cabled to a deleted bridge.
  const namespaces = namespacesSync().filter(abandoned);
  for (const ns of namespaces.filter((name) => !name.endsWith("-sw"))) removeNamespaceSync(ns);
  for (const ns of namespaces.filter((name) => name.endsWith("-sw"))) removeNamespaceSync(ns);
  for (const entry of readdirSync(tmpdir())) {
    if (abandoned(entry)) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}
