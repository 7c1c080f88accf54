// A real keepalived on a machine of the local model, with keepalived.conf as
// a unit renders it: its first start waits before it may take the VIP (the
// peers may not list it yet), a later start (a reboot, a keepalived that died)
// takes it within seconds, with no wait.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { STARTUP_DELAY_SECONDS, renderKeepalivedConfig } from "../../src/vip/keepalivedConfig.js";
import { planVip } from "../../src/vip/vipPlan.js";
import { resourcePrefix, track, untrack } from "../localJuju/cleanup.js";
import { KeepalivedService } from "../localJuju/keepalivedService.js";
import { Machine } from "../localJuju/machine.js";
import { Network } from "../localJuju/network.js";

const VIP = "10.89.0.200";
let dir: string;
let network: Network;
let machine: Machine;
let keepalived: KeepalivedService;
const teardown = {
  destroySync(): void {
    machine?.destroySync();
    network?.destroySync();
    rmSync(dir, { recursive: true, force: true });
  },
};

beforeAll(async () => {
  const prefix = `${resourcePrefix}-${process.pid}-vipstart`;
  dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  track(teardown);
  network = await Network.create(prefix, "10.89.0");
  mkdirSync(join(dir, "m0"));
  machine = await Machine.create(network, {
    id: 0,
    namespace: `${prefix}-m0`,
    hostname: "vipstart-0",
    dir: join(dir, "m0"),
    ownFilesystem: true,
    shims: new Map(),
  });
  const setup = await machine.exec([
    "/bin/sh",
    "-c",
    'mkdir -p /etc/keepalived && printf "#!/bin/sh\\nexit 0\\n" > /etc/keepalived/check && chmod 755 /etc/keepalived/check',
  ]);
  expect(setup.stderr).toBe("");
  keepalived = new KeepalivedService(machine);
});

afterAll(async () => {
  await keepalived?.stop();
  untrack(teardown);
  teardown.destroySync();
});

async function configure(firstStart: boolean): Promise<void> {
  const plan = planVip(
    { addresses: [{ address: VIP }] },
    {
      unitName: "haproxy/0",
      unitAddress: machine.address,
      interfaces: [{ device: "eth0", address: machine.address, prefix: 16, secondary: false }],
      // A peer that is down: this unit is on its own.
      peers: [{ unit: "haproxy/1", address: network.addressOf(1) }],
    },
  );
  const config = renderKeepalivedConfig(plan, "haproxy/0", "/etc/keepalived/check", firstStart);
  const write = await machine.exec(["/bin/sh", "-c", "cat > /etc/keepalived/keepalived.conf"], {
    input: config,
  });
  expect(write.stderr).toBe("");
}

async function holdsVip(): Promise<boolean> {
  const result = await machine.exec(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
  return result.stdout.includes(` ${VIP}/`);
}

async function secondsUntilHeld(limitSeconds: number): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < limitSeconds * 1000) {
    if (await holdsVip()) return (Date.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

const delayed = () => keepalived.journal.some((entry) => /Delaying startup/.test(entry.message));

describe("keepalived's startup delay", () => {
  it("holds the address back on the first start", async () => {
    await configure(true);
    expect(await keepalived.start()).toEqual({ ok: true, message: "" });
    expect(await secondsUntilHeld(6)).toBeUndefined();
    expect(delayed()).toBe(true);
    await keepalived.stop();
  });

  it("takes it within seconds when keepalived starts again", async () => {
    await configure(false);
    expect(await keepalived.start()).toEqual({ ok: true, message: "" });
    const seconds = await secondsUntilHeld(STARTUP_DELAY_SECONDS / 2);
    expect(seconds).toBeDefined();
    expect(seconds).toBeLessThan(10);
  });
});
