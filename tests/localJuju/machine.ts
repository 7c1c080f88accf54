// One machine of the local model: its own network namespace (an address on
// the model's /16) and, for charm units, its own mount and UTS namespaces.
// A long-lived holder process keeps those namespaces alive; everything a
// unit runs enters them with nsenter. Inside, /etc, /var/lib and /var/log are
// overlays whose writes land in the machine's own directory, /run is a fresh
// tmpfs and systemctl, service, apt-get and dpkg are the model's shims, so the
// charm writes its production paths unchanged and the host never sees them.

import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Network } from "./network.js";
import { ip, removeNamespaceSync } from "./network.js";

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface ExecOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly input?: string;
  readonly timeoutMs?: number;
}

export interface MachineOptions {
  readonly id: number;
  readonly namespace: string;
  readonly hostname: string;
  /** Where the machine keeps its overlay layers and anything else it owns. */
  readonly dir: string;
  /** Charm units get their own filesystem view; scripted units only a network. */
  readonly ownFilesystem: boolean;
  /** Real binaries replaced inside the machine: target path -> shim script. */
  readonly shims: ReadonlyMap<string, string>;
}

/** Directories whose writes stay on the machine. */
const overlaidDirectories = ["/etc", "/var/lib", "/var/log"];

export const basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class Machine {
  private readonly children = new Set<ChildProcess>();
  private holderPid?: number;

  private constructor(
    readonly id: number,
    readonly namespace: string,
    readonly address: string,
    readonly dir: string,
  ) {}

  static async create(network: Network, options: MachineOptions): Promise<Machine> {
    const address = network.addressOf(options.id);
    const machine = new Machine(options.id, options.namespace, address, options.dir);
    mkdirSync(options.dir, { recursive: true });
    await ip("netns", "add", options.namespace);
    try {
      await network.attach(options.namespace, options.id, address);
      if (options.ownFilesystem) await machine.startHolder(options);
    } catch (error) {
      machine.destroySync();
      throw error;
    }
    return machine;
  }

  private async startHolder(options: MachineOptions): Promise<void> {
    const lines = ["set -e"];
    for (const directory of overlaidDirectories) {
      const layer = join(options.dir, "overlay", directory.slice(1).replaceAll("/", "-"));
      mkdirSync(join(layer, "upper"), { recursive: true });
      mkdirSync(join(layer, "work"), { recursive: true });
      lines.push(
        `mount -t overlay overlay -o lowerdir=${directory},upperdir=${layer}/upper,workdir=${layer}/work ${directory}`,
      );
    }
    // A fresh machine boots with an empty /run; Debian's tmpfiles.d creates /run/haproxy.
    lines.push(
      "mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run",
      "mkdir -p /run/lock",
      "if id haproxy >/dev/null 2>&1; then install -d -m 2775 -o haproxy -g haproxy /run/haproxy; fi",
    );
    for (const [target, shim] of options.shims) {
      if (existsSync(target)) lines.push(`mount --bind ${shim} ${target}`);
    }
    // As cloud-init does: the hostname resolves without DNS, which the model's network
    // lacks (Prometheus, for one, looks it up at start and would wait for a timeout).
    lines.push(
      `hostname ${options.hostname}`,
      `printf '127.0.1.1 %s\\n' ${options.hostname} >> /etc/hosts`,
      "echo ready",
      "exec sleep infinity",
    );
    const holder = spawn(
      "ip",
      [
        "netns",
        "exec",
        this.namespace,
        "unshare",
        "--mount",
        "--uts",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        lines.join("\n"),
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { PATH: basePath } },
    );
    this.children.add(holder);
    await new Promise<void>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      holder.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes("ready\n")) resolve();
      });
      holder.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      holder.on("exit", (code) =>
        reject(new Error(`machine ${this.id}: namespace holder exited (${code}): ${stderr}`)),
      );
      holder.on("error", reject);
    });
    this.holderPid = holder.pid;
  }

  /** The command prefix that runs a program inside this machine. */
  private enter(cwd: string | undefined): string[] {
    // nsenter's --wd resolves the directory before entering: change it inside instead.
    const wd = cwd === undefined ? [] : ["/bin/sh", "-c", 'cd "$0" && exec "$@"', cwd];
    if (this.holderPid === undefined) {
      return ["nsenter", `--net=/run/netns/${this.namespace}`, "--", ...wd];
    }
    const target = String(this.holderPid);
    return ["nsenter", "--target", target, "--mount", "--net", "--uts", "--", ...wd];
  }

  /** Starts a long-running process inside the machine; it dies with the machine. */
  spawn(
    argv: readonly string[],
    options: { env?: Readonly<Record<string, string>>; cwd?: string } = {},
  ): ChildProcess {
    const [command = "nsenter", ...args] = [...this.enter(options.cwd), ...argv];
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: basePath, ...options.env },
    });
    this.children.add(child);
    child.on("exit", () => this.children.delete(child));
    return child;
  }

  /** Runs a command inside the machine to completion. */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return runCommand([...this.enter(options.cwd), ...argv], options, this.children);
  }

  /** Runs a command in the machine's network namespace only, with the host's binaries. */
  execInNetwork(argv: readonly string[]): Promise<ExecResult> {
    return runCommand(
      ["nsenter", `--net=/run/netns/${this.namespace}`, "--", ...argv],
      {},
      this.children,
    );
  }

  async readFile(path: string): Promise<string> {
    const result = await this.exec(["cat", "--", path]);
    if (result.exitCode !== 0) throw new Error(`machine ${this.id}: ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** Stops every process of the machine and removes its namespaces and files. */
  destroySync(): void {
    for (const child of this.children) {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    this.children.clear();
    removeNamespaceSync(this.namespace);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function runCommand(
  argv: readonly string[],
  options: ExecOptions,
  children: Set<ChildProcess>,
): Promise<ExecResult> {
  const [command = "nsenter", ...args] = argv;
  const child = spawn(command, args, {
    stdio: ["pipe", "pipe", "pipe"],
    env: { PATH: basePath, ...options.env },
    // Its own process group, so a timeout can stop everything it started.
    detached: true,
  });
  children.add(child);
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            killGroup(child);
          }, options.timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", (error) => (stderr += `${error.message}\n`));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const exitCode = code ?? (signal === null ? 1 : 128);
      resolve({ exitCode, stdout, stderr, timedOut });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}
