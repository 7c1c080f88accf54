// The model's keepalived.service: a real keepalived per machine. Two machines
// of the model's own kind hold a VIP between them over unicast VRRP across
// the switch: it lands on one machine's eth0, answers from the switch, moves
// when that machine's check fails, stays where it is when the check recovers
// (nopreempt) and across a reload, leaves the machine whose keepalived stops,
// and stays put when a machine that is not a peer advertises a higher priority.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { renderKeepalivedConfig } from "../../src/vip/keepalivedConfig.js";
import { resourcePrefix, track, untrack } from "./cleanup.js";
import { KeepalivedService } from "./keepalivedService.js";
import { Machine } from "./machine.js";
import { Network } from "./network.js";

let dir: string;
let network: Network;
const machines: Machine[] = [];
const services: KeepalivedService[] = [];
const vip = "10.88.0.200";
const teardown = {
  destroySync(): void {
    for (const machine of machines) machine.destroySync();
    network?.destroySync();
    rmSync(dir, { recursive: true, force: true });
  },
};

async function holders(): Promise<number[]> {
  const held: number[] = [];
  for (const [index, machine] of machines.entries()) {
    const result = await machine.exec(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    if (result.stdout.includes(` ${vip}/`)) held.push(index);
  }
  return held;
}

async function until(condition: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Which machine answers the VIP, seen from the switch (its hostname over TCP). */
async function answering(): Promise<string> {
  const result = await execa(
    "ip",
    [
      "netns",
      "exec",
      network.switchNamespace,
      "curl",
      "-sS",
      "--max-time",
      "2",
      `http://${vip}:8080/`,
    ],
    { reject: false },
  );
  return result.stdout.trim();
}

/** Writes keepalived.conf and a check script that fails while /run/fail exists. */
async function configure(machine: Machine, config: string): Promise<void> {
  const setup = await machine.exec(
    [
      "/bin/sh",
      "-c",
      'mkdir -p /etc/keepalived && cat > /etc/keepalived/keepalived.conf && printf "#!/bin/sh\\n[ ! -e /run/fail ]\\n" > /etc/keepalived/check && chmod 755 /etc/keepalived/check',
    ],
    { input: config },
  );
  expect(setup.stderr).toBe("");
}

const prefix = `${resourcePrefix}-${process.pid}-vrrp`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  track(teardown);
  network = await Network.create(prefix, "10.88.0");
  for (const id of [0, 1]) {
    mkdirSync(join(dir, `m${id}`));
    machines.push(
      await Machine.create(network, {
        id,
        namespace: `${prefix}-m${id}`,
        hostname: `vrrp-${id}`,
        dir: join(dir, `m${id}`),
        ownFilesystem: true,
        shims: new Map(),
      }),
    );
  }
  for (const [id, machine] of machines.entries()) {
    const other = machines[1 - id]?.address ?? "";
    const config = renderKeepalivedConfig(
      {
        device: "eth0",
        sourceAddress: machine.address,
        peerAddresses: [other],
        priority: 250 - 20 * id,
        routerId: 51,
        addresses: [`${vip}/16`],
        bareAddresses: [vip],
        ignoredPeers: [],
      },
      `vrrp/${id}`,
      "/etc/keepalived/check",
      true,
    );
    await configure(machine, config);
    // Something to answer on the VIP: a web server bound to every address.
    machine.spawn([
      process.execPath,
      "-e",
      `require("http").createServer((q,s)=>s.end("vrrp-${id}")).listen(8080)`,
    ]);
    services.push(new KeepalivedService(machine));
  }
});

afterAll(async () => {
  for (const service of services) await service.stop();
  untrack(teardown);
  teardown.destroySync();
});

describe("keepalived.service in the local model", () => {
  it("does not start without a configuration, as Debian's unit does not", async () => {
    const bare = new KeepalivedService(machines[0] as Machine);
    await (machines[0] as Machine).exec(["mv", "/etc/keepalived/keepalived.conf", "/run/kc"]);
    expect(await bare.start()).toEqual({ ok: true, message: "" });
    expect(bare.active).toBe(false);
    await (machines[0] as Machine).exec(["mv", "/run/kc", "/etc/keepalived/keepalived.conf"]);
  });

  it("puts the VIP on one machine's eth0, reachable from the switch over unicast VRRP", async () => {
    for (const service of services)
      expect(await service.start()).toEqual({ ok: true, message: "" });
    await until(async () => (await holders()).length === 1);
    expect(await holders()).toEqual([0]);
    expect(await answering()).toBe("vrrp-0");
    const journal = services[0]?.journal.map((entry) => entry.message).join("\n") ?? "";
    expect(journal).toMatch(/Entering MASTER STATE/);
  });

  it("moves it when the holder's check fails, and does not take it back (nopreempt)", async () => {
    await machines[0]?.exec(["touch", "/run/fail"]);
    await until(async () => (await holders()).join() === "1");
    await until(async () => (await answering()) === "vrrp-1");
    await machines[0]?.exec(["rm", "/run/fail"]);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(await holders()).toEqual([1]);
  });

  it("keeps it across a reload (SIGHUP)", async () => {
    const pid = services[1]?.pid;
    expect(await services[1]?.reload()).toEqual({ ok: true, message: "" });
    expect(services[1]?.pid).toBe(pid);
    expect(services[1]?.journal.some((entry) => entry.message.includes("Reload complete"))).toBe(
      true,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await holders()).toEqual([1]);
  });

  it("releases it when the holder's keepalived stops", async () => {
    await services[1]?.stop();
    expect(services[1]?.active).toBe(false);
    await until(async () => (await holders()).join() === "0");
    expect(await answering()).toBe("vrrp-0");
  });

  it("ignores adverts from a machine that is not a peer, even of a higher priority", async () => {
    mkdirSync(join(dir, "intruder"));
    const intruder = await Machine.create(network, {
      id: 2,
      namespace: `${prefix}-intruder`,
      hostname: "intruder",
      dir: join(dir, "intruder"),
      ownFilesystem: true,
      shims: new Map(),
    });
    machines.push(intruder);
    // The same router id, a higher priority, adverts to both machines, and no startup delay.
    const config = renderKeepalivedConfig(
      {
        device: "eth0",
        sourceAddress: intruder.address,
        peerAddresses: machines.slice(0, 2).map((machine) => machine.address),
        priority: 254,
        routerId: 51,
        addresses: [`${vip}/16`],
        bareAddresses: [vip],
        ignoredPeers: [],
      },
      "intruder/0",
      "/etc/keepalived/check",
      false,
    );
    await configure(intruder, config);
    const service = new KeepalivedService(intruder);
    services.push(service);
    const since = services[0]?.journal.length ?? 0;
    expect(await service.start()).toEqual({ ok: true, message: "" });
    // It hears no peer, so it becomes MASTER and advertises priority 254 to machine 0.
    await until(async () =>
      service.journal.some((entry) => entry.message.includes("Entering MASTER STATE")),
    );
    await new Promise((resolve) => setTimeout(resolve, 5000));
    // Machine 0 (priority 250) would give the address up to a higher priority peer; it stays.
    expect((await holders()).includes(0)).toBe(true);
    const after = services[0]?.journal.slice(since).map((entry) => entry.message) ?? [];
    expect(after.join("\n")).not.toMatch(/Entering BACKUP STATE/);
  });
});
