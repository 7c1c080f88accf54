// Commands the charm runs on its machine besides haproxy's own (sysctl,
// dpkg, apt-get, reloading the nrpe server). Behind an interface so tests
// see what would run without touching the host.
import { execa } from "execa";

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface HostCommands {
  run(command: string, args: readonly string[], input?: string): Promise<CommandResult>;
}

export const execaHostCommands: HostCommands = {
  async run(command, args, input) {
    const result = await execa(command, args, {
      reject: false,
      timeout: 600_000,
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
): Promise<CommandResult> {
  const result = await host.run(command, args);
  if (result.exitCode !== 0) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-3).join(" ");
    throw new Error(`${command} ${args.join(" ")} failed (exit ${result.exitCode}): ${detail}`);
  }
  return result;
}

/** `apt-get install` of one package, waiting for another dpkg run to finish rather than failing. */
export async function aptGetInstall(host: HostCommands, name: string): Promise<void> {
  await mustRun(host, "apt-get", ["-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", name]);
}
