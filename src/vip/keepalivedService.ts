// keepalived on the machine: installed from the archive the first time `vip`
// is set, its configuration checked with `keepalived -t` before it replaces
// the live one, started or reloaded (SIGHUP: the holder keeps the address),
// and stopped when `vip` is emptied, which releases the address.
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";

import { readIfExists, writeFileAtomic } from "../lib/atomicFile.js";
import { removeIfPresent, writeIfChanged } from "../lib/managedFiles.js";
import { type HostCommands, aptGetInstall, mustRun } from "../system/hostCommands.js";

export interface KeepalivedFiles {
  /** Where Debian's keepalived.service reads it (and only starts when it is not empty). */
  readonly config: string;
  readonly checkScript: string;
}

export function keepalivedFiles(directory: string): KeepalivedFiles {
  return {
    config: path.join(directory, "keepalived.conf"),
    checkScript: path.join(directory, "haproxy-charm-check"),
  };
}

/** keepalived refused the configuration the charm rendered. */
export class KeepalivedConfigError extends Error {
  override readonly name = "KeepalivedConfigError";
}

/** Installs the package unless it is there; true when it installed it. */
export async function ensureKeepalivedInstalled(host: HostCommands): Promise<boolean> {
  const status = await host.run("dpkg", ["-s", "keepalived"]);
  if (status.exitCode === 0 && /^Status: install ok installed$/m.test(status.stdout)) return false;
  await aptGetInstall(host, "keepalived");
  return true;
}

export type KeepalivedAction = "started" | "reloaded" | "none";

export async function applyKeepalived(
  host: HostCommands,
  files: KeepalivedFiles,
  config: string,
  checkScript: string,
): Promise<KeepalivedAction> {
  await mkdir(path.dirname(files.config), { recursive: true });
  // The check runs as root from a root-only file: keepalived's script security demands it.
  await writeIfChanged(files.checkScript, checkScript, 0o755);
  const changed = (await readIfExists(files.config)) !== config;
  if (changed) {
    const candidate = `${files.config}.charm-candidate`;
    await writeFileAtomic(candidate, config, { mode: 0o644 });
    try {
      const test = await host.run("keepalived", ["-t", "-l", "-f", candidate]);
      if (test.exitCode !== 0) {
        const output = `${test.stderr}\n${test.stdout}`.trim();
        throw new KeepalivedConfigError(
          `keepalived -t rejected the configuration: ${output.split("\n")[0] ?? `exit ${test.exitCode}`}`,
        );
      }
      await writeFileAtomic(files.config, config, { mode: 0o644 });
    } finally {
      await rm(candidate, { force: true });
    }
  }
  const active = await host.run("systemctl", ["is-active", "--quiet", "keepalived"]);
  if (active.exitCode !== 0) {
    await mustRun(host, "systemctl", ["enable", "keepalived"]);
    await mustRun(host, "systemctl", ["start", "keepalived"]);
    return "started";
  }
  if (!changed) return "none";
  await mustRun(host, "systemctl", ["reload", "keepalived"]);
  return "reloaded";
}

/** Starts keepalived when the charm configured it and it is not running; true when it did. */
export async function startIfConfigured(
  host: HostCommands,
  files: KeepalivedFiles,
): Promise<boolean> {
  if ((await readIfExists(files.config)) === undefined) return false;
  const active = await host.run("systemctl", ["is-active", "--quiet", "keepalived"]);
  if (active.exitCode === 0) return false;
  await mustRun(host, "systemctl", ["start", "keepalived"]);
  return true;
}

/** Stops keepalived (it removes the addresses it holds) and its files; true when it ran. */
export async function removeKeepalived(
  host: HostCommands,
  files: KeepalivedFiles,
): Promise<boolean> {
  if ((await readIfExists(files.config)) === undefined) return false;
  await mustRun(host, "systemctl", ["stop", "keepalived"]);
  await mustRun(host, "systemctl", ["disable", "keepalived"]);
  await removeIfPresent(files.config);
  await removeIfPresent(files.checkScript);
  return true;
}
