// A ServiceManager that runs a real haproxy in master-worker mode, the way
// systemd does on a unit, but from a test's own temporary directory. Its
// output goes to a file, as systemd's goes to the journal; like systemd's, a
// reload is done once haproxy has answered the signal, whether it loaded the
// file or not.

import { spawn } from "node:child_process";
import { open, readFile, readdir, readlink, stat } from "node:fs/promises";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import type { ServiceManager } from "../../src/apply/serviceManager.js";
import type { Paths } from "../../src/paths.js";

export interface HaproxyProcessOptions {
  readonly configFile: string;
  readonly pidFile: string;
  /** Where haproxy's output goes; `<pidFile>.log` by default. */
  readonly logFile?: string;
  /** Loopback ports that must accept connections before start() returns. */
  readonly probePorts?: readonly number[];
  readonly haproxyBinary?: string;
}

const waitLimitMs = 10_000;

export class HaproxyProcess implements ServiceManager {
  /** How many times start() and reload() ran, for tests asserting that nothing happened. */
  starts = 0;
  reloads = 0;
  /** Where the log ended when the last reload began. */
  private reloadOffset: number | undefined;

  constructor(private readonly options: HaproxyProcessOptions) {}

  /** haproxy's output, oldest first. */
  get logFile(): string {
    return this.options.logFile ?? `${this.options.pidFile}.log`;
  }

  async isRunning(): Promise<boolean> {
    const pid = await this.masterPid();
    return pid !== undefined && (await isAlive(pid));
  }

  async start(): Promise<void> {
    if (await this.isRunning()) throw new Error("haproxy is already running");
    const { configFile, pidFile, haproxyBinary = "haproxy" } = this.options;
    const offset = await sizeOf(this.logFile);
    const log = await open(this.logFile, "a");
    let exit: string | undefined;
    try {
      // Not daemonised (-D closes haproxy's output); detached, so it outlives this process.
      const master = spawn(haproxyBinary, ["-W", "-p", pidFile, "-f", configFile], {
        detached: true,
        stdio: ["ignore", log.fd, log.fd],
      });
      master.once("error", (error) => (exit = error.message));
      master.once("exit", (code, signal) => (exit = `exit ${code ?? signal}`));
      master.unref();
    } finally {
      await log.close();
    }
    this.starts += 1;
    await waitFor("a haproxy worker and a master ready to reload", async () => {
      if (exit !== undefined) {
        throw new Error(
          `haproxy did not start (${exit}):\n${await readFrom(this.logFile, offset)}`,
        );
      }
      const pid = await this.masterPid();
      return pid !== undefined && (await childrenOf(pid)).length > 0 && (await readyToReload(pid));
    });
    for (const port of this.options.probePorts ?? []) {
      await waitFor(`haproxy listening on port ${port}`, () => acceptsConnections(port));
    }
  }

  async reload(): Promise<void> {
    const pid = await this.requireMaster();
    const before = new Set(await childrenOf(pid));
    this.reloadOffset = await sizeOf(this.logFile);
    process.kill(pid, "SIGUSR2");
    this.reloads += 1;
    await waitFor(
      "a new haproxy worker or a failed load, and a master ready to reload",
      async () =>
        ((await childrenOf(pid)).some((child) => !before.has(child)) ||
          /Loading failure!/.test(await this.reloadOutput())) &&
        (await readyToReload(pid)),
    );
    // The old workers share the listening sockets with the new one until they
    // have handled their soft stop, which a busy machine delays: a request sent
    // in between may still meet the old configuration. Tests ask right after a
    // hook, so the reload ends when the old workers have let go of them.
    const loaded = (await childrenOf(pid)).some((child) => !before.has(child));
    if (!loaded) return;
    await waitFor("the old haproxy workers to let go of the listeners", async () => {
      const listening = await listeningSocketInodes();
      const holding = await Promise.all([...before].map((old) => holdsAny(old, listening)));
      return !holding.includes(true);
    });
  }

  async reloadOutput(): Promise<string> {
    return this.reloadOffset === undefined ? "" : readFrom(this.logFile, this.reloadOffset);
  }

  async stop(): Promise<void> {
    const pid = await this.masterPid();
    if (pid === undefined || !(await isAlive(pid))) return;
    const workers = await childrenOf(pid);
    process.kill(pid, "SIGTERM");
    await waitFor("haproxy to exit", async () => {
      const alive = await Promise.all([pid, ...workers].map(isAlive));
      return !alive.includes(true);
    });
  }

  private async masterPid(): Promise<number | undefined> {
    try {
      const pid = Number((await readFile(this.options.pidFile, "utf8")).trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async requireMaster(): Promise<number> {
    const pid = await this.masterPid();
    if (pid === undefined || !(await isAlive(pid))) throw new Error("haproxy is not running");
    return pid;
  }
}

async function sizeOf(file: string): Promise<number> {
  return stat(file).then(
    (found) => found.size,
    () => 0,
  );
}

/** `file`'s text from byte `offset` on, "" when there is none. */
async function readFrom(file: string, offset: number): Promise<string> {
  const text = await readFile(file).catch(() => Buffer.alloc(0));
  return text.subarray(offset).toString("utf8");
}

/** The haproxy of a test's temporary `paths` (tests/helpers/temporaryPaths.ts). */
export function haproxyIn(
  paths: Paths,
  options: Omit<HaproxyProcessOptions, "configFile" | "pidFile"> = {},
): HaproxyProcess {
  return new HaproxyProcess({
    configFile: paths.haproxyConfig,
    pidFile: join(paths.haproxyRun, "haproxy.pid"),
    ...options,
  });
}

/** A loopback TCP port nobody listens on right now. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** Alive and not a zombie: a daemonised haproxy may be reparented to a PID 1 that never reaps. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * Whether the master catches SIGUSR2 and does not block it. Until then (while
 * it starts, or re-executes itself for a reload, which may be after its new
 * worker is up) a reload signal is lost: systemd waits for haproxy's
 * readiness notification for the same reason.
 */
async function readyToReload(pid: number): Promise<boolean> {
  const sigusr2 = 1 << 11;
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    // The masks are hexadecimal; SIGUSR2's bit is in the last four digits.
    const mask = (name: string) =>
      parseInt(
        new RegExp(`^${name}:\\s*([0-9a-f]+)$`, "m").exec(status)?.[1]?.slice(-4) ?? "0",
        16,
      );
    return (mask("SigCgt") & sigusr2) !== 0 && (mask("SigBlk") & sigusr2) === 0;
  } catch {
    return false;
  }
}

/** The inodes of this network namespace's listening TCP sockets (state 0A). */
async function listeningSocketInodes(): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === "0A" && fields[9] !== undefined) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** Whether process `pid` (gone: no) holds one of these sockets open. */
async function holdsAny(pid: number, inodes: ReadonlySet<string>): Promise<boolean> {
  const fds = await readdir(`/proc/${pid}/fd`).catch((): string[] => []);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && inodes.has(inode)) return true;
  }
  return false;
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text
      .trim()
      .split(/\s+/)
      .filter((field) => field !== "")
      .map(Number);
  } catch {
    return [];
  }
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function waitFor(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + waitLimitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
