// Commands the charm runs on its machine besides haproxy's own (sysctl,
// dpkg, apt-get, reloading the nrpe server). Behind an interface so tests
// see what would run without touching the host.

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface HostCommands {
  /** `timeoutMs`: the command is killed past it; absent, DEFAULT_TIMEOUT_MS. */
  run(
    command: string,
    args: readonly string[],
    input?: string,
    timeoutMs?: number,
  ): Promise<CommandResult>;
}

export const DEFAULT_TIMEOUT_MS = 600_000;

/** How long apt-get waits for another dpkg run (cloud-init, unattended-upgrades) to let go. */
export const DPKG_LOCK_WAIT_SECONDS = 600;

/**
 * apt-get's deadline: the whole lock wait, then the download and install.
 * Killed at the end of the wait, it would fail a hook it could have finished,
 * or stop dpkg halfway through unpacking.
 */
export const APT_TIMEOUT_MS = (DPKG_LOCK_WAIT_SECONDS + 900) * 1000;

export const execaHostCommands: HostCommands = {
  async run(command, args, input, timeoutMs = DEFAULT_TIMEOUT_MS) {
    // Loaded when needed: importing execa costs as much CPU as starting node.
    const { execa } = await import("execa");
    const result = await execa(command, args, {
      reject: false,
      timeout: timeoutMs,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      ...(input === undefined ? { stdin: "ignore" as const } : { input }),
    });
    return {
      // A command that could not start at all (not installed) reads as 127, as in a shell.
      exitCode: result.exitCode ?? 127,
      stdout: result.stdout,
      stderr: result.stderr || (result.exitCode === undefined ? (result.shortMessage ?? "") : ""),
    };
  },
};

/** Runs `command`; a non-zero exit throws with its last lines of output. */
export async function mustRun(
  host: HostCommands,
  command: string,
  args: readonly string[],
  timeoutMs?: number,
): Promise<CommandResult> {
  const result = await host.run(command, args, undefined, timeoutMs);
  if (result.exitCode !== 0) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-3).join(" ");
    throw new Error(`${command} ${args.join(" ")} failed (exit ${result.exitCode}): ${detail}`);
  }
  return result;
}

/**
 * `apt-get install` of one package, waiting for another dpkg run to finish
 * rather than failing. Only what the package depends on comes with it.
 */
export async function aptGetInstall(host: HostCommands, name: string): Promise<void> {
  await aptGet(host, ["install", "-y", "-q", "--no-install-recommends", name]);
}

/** apt-get, waiting for the dpkg lock, with time to finish once it has it. */
export async function aptGet(host: HostCommands, args: readonly string[]): Promise<void> {
  await mustRun(
    host,
    "apt-get",
    ["-o", `DPkg::Lock::Timeout=${DPKG_LOCK_WAIT_SECONDS}`, ...args],
    APT_TIMEOUT_MS,
  );
}
