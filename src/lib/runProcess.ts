// Runs a short program and collects what it printed, as execa does with
// `reject: false`, on node's own child_process. A hook runs several such
// programs (hook tools, systemctl, `haproxy -c`) and loading execa cost
// about as much CPU as starting node itself; execa stays for the commands
// that need its timeouts (host commands, openssl), loaded only when they run.
import { spawn } from "node:child_process";

export interface ProcessResult {
  /** Undefined when the program could not start or a signal ended it. */
  readonly exitCode: number | undefined;
  /** What it printed, without the last newline (as execa gives it). */
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr as they arrived, interleaved. */
  readonly all: string;
  /** It could not start, a signal ended it, or it exited with another code than 0. */
  readonly failed: boolean;
  /** Why it ended without an exit code: "spawn x ENOENT", or the signal. */
  readonly reason?: string;
}

export interface ProcessOptions {
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to its stdin; absent, its stdin is closed (/dev/null). */
  readonly input?: string;
}

export function runProcess(
  file: string,
  args: readonly string[],
  options: ProcessOptions = {},
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const all: Buffer[] = [];
    let settled = false;
    const finish = (exitCode: number | undefined, reason?: string) => {
      if (settled) return;
      settled = true;
      resolve({
        exitCode,
        stdout: text(stdout),
        stderr: text(stderr),
        all: text(all),
        failed: exitCode !== 0,
        ...(reason !== undefined && { reason }),
      });
    };
    const child = spawn(file, args, {
      env: options.env === undefined ? process.env : { ...process.env, ...options.env },
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout.push(chunk);
      all.push(chunk);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr.push(chunk);
      all.push(chunk);
    });
    child.on("error", (error) => finish(undefined, error.message));
    child.on("close", (code, signal) =>
      finish(code ?? undefined, signal === null ? undefined : `killed by ${signal}`),
    );
    if (options.input !== undefined) {
      // A program that exits without reading its input is not an error of ours.
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(options.input);
    }
  });
}

function text(chunks: readonly Buffer[]): string {
  const value = Buffer.concat(chunks).toString("utf8");
  if (value.endsWith("\r\n")) return value.slice(0, -2);
  return value.endsWith("\n") ? value.slice(0, -1) : value;
}
