// While `vip` is set, haproxy may bind an address its unit does not hold
// (net.ipv4.ip_nonlocal_bind=1): a service whose service_host is the VIP then
// starts and reloads on every unit, not only on the holder, and this works for
// any bind line an operator writes, with no change to the templates. Written
// to its own sysctl.d file, so it survives a reboot and goes with the option.
// The value from before is kept in the charm's state and put back then: the
// machine (or the `sysctl` option) may have wanted 1 for its own reasons.
import { mkdir } from "node:fs/promises";

import { readIfExists, writeFileAtomic } from "../lib/atomicFile.js";
import type { Paths, SystemPaths } from "../paths.js";
import { stateFilePath } from "../stateFiles.js";
import { removeIfPresent, writeIfChanged } from "../lib/managedFiles.js";
import type { HostCommands } from "../system/hostCommands.js";

const SETTING = "net.ipv4.ip_nonlocal_bind";
const VALUE = /^\d+$/;

export const NONLOCAL_BIND_FILE =
  "# Written by the haproxy charm while its vip option is set: haproxy binds the\n" +
  "# VIP on every unit, holder or not.\n" +
  `${SETTING}=1\n`;

/** Allows it; true when it was not allowed before (the file was missing or different). */
export async function allowNonlocalBind(
  system: SystemPaths,
  paths: Pick<Paths, "charmState">,
  host: HostCommands,
): Promise<boolean> {
  const before = previousValueFile(paths);
  // Only the machine's own value is worth keeping: once the file is there, the value is ours.
  if (
    (await readIfExists(system.vipSysctlConfig)) === undefined &&
    (await readIfExists(before)) === undefined
  ) {
    const value = (await mustSysctl(host, ["-n", SETTING])).trim();
    if (!VALUE.test(value))
      throw new Error(`sysctl -n ${SETTING} printed ${JSON.stringify(value)}`);
    await mkdir(paths.charmState, { recursive: true, mode: 0o700 });
    await writeFileAtomic(before, `${value}\n`, { mode: 0o600 });
  }
  if (!(await writeIfChanged(system.vipSysctlConfig, NONLOCAL_BIND_FILE, 0o644))) return false;
  await mustSysctl(host, ["-p", system.vipSysctlConfig]);
  return true;
}

/** Back to the value from before `vip` was set (0 if unknown); true when there was something to undo. */
export async function forbidNonlocalBind(
  system: SystemPaths,
  paths: Pick<Paths, "charmState">,
  host: HostCommands,
): Promise<boolean> {
  const before = previousValueFile(paths);
  if (!(await removeIfPresent(system.vipSysctlConfig))) {
    await removeIfPresent(before);
    return false;
  }
  const value = (await readIfExists(before))?.trim() ?? "0";
  await mustSysctl(host, ["-w", `${SETTING}=${VALUE.test(value) ? value : "0"}`]);
  await removeIfPresent(before);
  return true;
}

function previousValueFile(paths: Pick<Paths, "charmState">): string {
  return stateFilePath(paths.charmState, "nonlocalBindBeforeVip");
}

async function mustSysctl(host: HostCommands, args: readonly string[]): Promise<string> {
  const result = await host.run("sysctl", args);
  if (result.exitCode !== 0) {
    throw new Error(
      `sysctl ${args.join(" ")}: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
    );
  }
  return result.stdout;
}
