// The model's private network: a "switch" network namespace holding a
// bridge, and one veth cable per machine. The /16 exists only inside these
// namespaces; the host's own network namespace is never touched.

import { execFileSync } from "node:child_process";
import { execa } from "execa";

export class Network {
  readonly switchNamespace: string;

  private constructor(
    readonly prefix: string,
    /** The first three octets, e.g. `10.86.0`. */
    readonly base: string,
  ) {
    this.switchNamespace = `${prefix}-sw`;
  }

  get subnet(): string {
    return `${this.base.split(".").slice(0, 2).join(".")}.0.0/16`;
  }

  /** The switch's own address: where the model's client (curl) runs from. */
  get gateway(): string {
    return `${this.base}.1`;
  }

  /**
   * Machine N gets .10+N, as a cloud hands out addresses in order; past 249
   * the numbering goes on in the next /24 of the /16 (benchmarks run
   * hundreds of units).
   */
  addressOf(machineId: number): string {
    const [first, second, third] = this.base.split(".").map(Number) as [number, number, number];
    const index = 10 + machineId;
    const block = Math.floor(index / 250);
    if (third + block > 255) throw new Error("the local model's network is full");
    return `${first}.${second}.${third + block}.${(index % 250) + (block > 0 ? 1 : 0)}`;
  }

  static async create(prefix: string, base: string): Promise<Network> {
    const network = new Network(prefix, base);
    const ns = network.switchNamespace;
    await ip("netns", "add", ns);
    await ip("-n", ns, "link", "set", "lo", "up");
    await ip("-n", ns, "link", "add", "br0", "type", "bridge");
    await ip("-n", ns, "addr", "add", `${network.gateway}/16`, "dev", "br0");
    await ip("-n", ns, "link", "set", "br0", "up");
    return network;
  }

  /** Cables namespace `ns` to the switch as `eth0` with `address`. */
  async attach(ns: string, machineId: number, address: string): Promise<void> {
    const port = `m${machineId}`;
    const sw = this.switchNamespace;
    await ip("-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
    await ip("-n", sw, "link", "set", port, "master", "br0");
    await ip("-n", sw, "link", "set", port, "up");
    await ip("-n", ns, "link", "set", "lo", "up");
    await ip("-n", ns, "addr", "add", `${address}/16`, "dev", "eth0");
    await ip("-n", ns, "link", "set", "eth0", "up");
    await ip("-n", ns, "route", "add", "default", "via", this.gateway);
  }

  destroySync(): void {
    removeNamespaceSync(this.switchNamespace);
  }
}

export async function ip(...args: string[]): Promise<void> {
  const result = await execa("ip", args, { reject: false });
  if (result.exitCode !== 0) {
    throw new Error(`ip ${args.join(" ")} failed: ${result.stderr.trim()}`);
  }
}

/** Kills whatever still runs in `ns`, then deletes it. Never throws. */
export function removeNamespaceSync(ns: string): void {
  for (let pass = 0; pass < 3; pass += 1) {
    const pids = namespacePidsSync(ns);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  try {
    execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  } catch {
    // already deleted
  }
}

function namespacePidsSync(ns: string): number[] {
  try {
    return execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
      .split("\n")
      .filter((line) => /^\d+$/.test(line.trim()))
      .map(Number);
  } catch {
    return [];
  }
}

export function namespacesSync(): string[] {
  try {
    return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.split(" ")[0] ?? "")
      .filter((name) => name !== "");
  } catch {
    return [];
  }
}
