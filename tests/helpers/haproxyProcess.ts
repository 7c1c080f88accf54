// A ServiceManager that runs a real haproxy in master-worker mode, the way
// systemd does on a unit, but from a test's own temporary directory.

import { readFile } from "node:fs/promises";
import { createServer, connect } from "node:net";
import { execa } from "execa";
import type { ServiceManager } from "../../src/apply/serviceManager.js";

export interface HaproxyProcessOptions {
  readonly configFile: string;
  readonly pidFile: string;
  /** Loopback ports that must accept connections before start() returns. */
  readonly probePorts?: readonly number[];
  readonly haproxyBinary?: string;
}

const waitLimitMs = 10_000;

export class HaproxyProcess implements ServiceManager {
  /** How many times start() and reload() ran, for tests asserting that nothing happened. */
  starts = 0;
  reloads = 0;

  constructor(private readonly options: HaproxyProcessOptions) {}

  async isRunning(): Promise<boolean> {
    const pid = await this.masterPid();
    return pid !== undefined && (await isAlive(pid));
  }

  async start(): Promise<void> {
    if (await this.isRunning()) throw new Error("haproxy is already running");
    const { configFile, pidFile, haproxyBinary = "haproxy" } = this.options;
    await execa(haproxyBinary, ["-W", "-D", "-p", pidFile, "-f", configFile]);
    this.starts += 1;
    await waitFor("a haproxy worker and a master ready to reload", async () => {
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
    process.kill(pid, "SIGUSR2");
    this.reloads += 1;
    await waitFor(
      "a new haproxy worker and a master ready to reload",
      async () =>
        (await childrenOf(pid)).some((child) => !before.has(child)) && (await readyToReload(pid)),
    );
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
