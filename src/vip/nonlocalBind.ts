// While `vip` is set, haproxy may bind an address its unit does not hold
// (net.ipv4.ip_nonlocal_bind=1): a service whose service_host is the VIP then
// starts and reloads on every unit, not only on the holder, and this works for
// any bind line an operator writes, with no change to the templates. Written
// to its own sysctl.d file, so it survives a reboot and goes with the option.
import type { SystemPaths } from "../paths.js";
import { removeIfPresent, writeIfChanged } from "../system/managedFiles.js";
import type { HostCommands } from "../system/hostCommands.js";

const SETTING = "net.ipv4.ip_nonlocal_bind";

export const NONLOCAL_BIND_FILE =
  "# Written by the haproxy charm while its vip option is set: haproxy binds the\n" +
  "# VIP on every unit, holder or not.\n" +
  `${SETTING}=1\n`;

/** Allows it; true when it was not allowed before (the file was missing or different). */
export async function allowNonlocalBind(system: SystemPaths, host: HostCommands): Promise<boolean> {
  if (!(await writeIfChanged(system.vipSysctlConfig, NONLOCAL_BIND_FILE, 0o644))) return false;
  await mustSysctl(host, ["-p", system.vipSysctlConfig]);
  return true;
}

/** Back to the kernel's default once `vip` is emptied; true when there was something to undo. */
export async function forbidNonlocalBind(
  system: SystemPaths,
  host: HostCommands,
): Promise<boolean> {
  if (!(await removeIfPresent(system.vipSysctlConfig))) return false;
  await mustSysctl(host, ["-w", `${SETTING}=0`]);
  return true;
}

async function mustSysctl(host: HostCommands, args: readonly string[]): Promise<void> {
  const result = await host.run("sysctl", args);
  if (result.exitCode !== 0) {
    throw new Error(
      `sysctl ${args.join(" ")}: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
    );
  }
}
