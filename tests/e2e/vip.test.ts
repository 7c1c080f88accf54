// Issue 15: a floating VIP among the haproxy units. Three units of the packed
// charm hold an unused address of the model's /16 with a real keepalived each
// (unicast VRRP across the model's switch); a client on the switch keeps
// asking the VIP while haproxy on the holder is stopped, the address moves,
// the old holder coming back does not take it back, a unit leaves, a bad
// value blocks without stopping anything, and emptying the option releases
// the address everywhere.
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { eventually } from "../helpers/eventually.js";
import { clientLoop, failoverSince, unusedAddress, vipHolders } from "./vipClient.js";
import { deployMyWebApp } from "./webApp.js";

let charm: PackedCharm;
let model: LocalModel;
let vip: string;
let reverseproxyId: number;

const haproxyUnits = () =>
  (model.application("haproxy")?.units ?? [])
    .filter((unit) => !unit.dying)
    .map((unit) => unit.name)
    .sort();

/** The live units, once there are as many as expected: a loop over none would prove nothing. */
function unitsCounted(count: number): string[] {
  const units = haproxyUnits();
  expect(units).toHaveLength(count);
  return units;
}

/** The one unit holding the VIP; a fresh keepalived waits 30 s before it may take it. */
async function onlyHolder(): Promise<string> {
  let holder = "";
  await eventually(async () => {
    const holders = await vipHolders(model, haproxyUnits(), vip);
    expect(holders).toHaveLength(1);
    holder = holders[0] ?? "";
  }, 60_000);
  return holder;
}

/** Every unit that held the VIP at the same moment, sampled until `work` and `settleMs` are done. */
async function holdersDuring(work: () => Promise<unknown>, settleMs: number): Promise<string[][]> {
  const samples: string[][] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(await vipHolders(model, haproxyUnits(), vip));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  await work();
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  sampling = false;
  await sampler;
  return samples;
}

const statusOf = (unit: string) =>
  model
    .status()
    .applications.flatMap((app) => app.units)
    .find((entry) => entry.name === unit);

beforeAll(async () => {
  charm = packCharm();
  model = await LocalModel.create({ name: "vip" });
  vip = unusedAddress(model);
  await model.deploy(charm.file, { units: 3 });
  reverseproxyId = await deployMyWebApp(model);
}, 240_000);

afterAll(() => {
  model?.destroy();
  charm?.cleanup();
});

describe("a VIP among three haproxy units", () => {
  it("installs nothing while vip is empty", () => {
    for (const unit of unitsCounted(3)) {
      expect(model.system(unit).commands.join("\n")).not.toMatch(/keepalived/);
      expect(model.system(unit).keepalived.active).toBe(false);
    }
  });

  it("puts the address on exactly one unit, which says so, and serves through it", async () => {
    await model.config("haproxy", { vip });
    const holder = await onlyHolder();
    for (const unit of unitsCounted(3)) {
      expect(model.system(unit).keepalived.active).toBe(true);
      const config = await model.readFile(unit, "/etc/keepalived/keepalived.conf");
      expect(config).toContain(`unicast_src_ip ${model.requireUnit(unit).machine.address}`);
      expect(config.match(/^ {4}\d+\.\d+\.\d+\.\d+$/gm)).toHaveLength(2);
      const bind = await model.exec(unit, ["sysctl", "-n", "net.ipv4.ip_nonlocal_bind"]);
      expect(bind.stdout.trim()).toBe("1");
    }
    // keepalived moves the address between hooks: update-status catches up.
    for (const unit of unitsCounted(3)) await model.trigger(unit, "update-status");
    expect(statusOf(holder)?.message).toBe(`Unit is ready; holds VIP ${vip}`);
    for (const unit of unitsCounted(3).filter((unit) => unit !== holder)) {
      expect(statusOf(unit)?.message).toBe("Unit is ready");
    }
    const response = await model.http(`http://${vip}/`);
    expect(response.status).toBe(200);
    expect(response.body).toMatch(/^my-web-app\/\d/);
  });

  it("tells the related units the VIP", () => {
    const relation = model.relation(reverseproxyId);
    for (const unit of unitsCounted(3)) {
      expect(relation?.unitSettings.get(unit)?.get("public-address")).toBe(vip);
    }
  });

  it("binds a service on the VIP on every unit (ip_nonlocal_bind), served by the holder", async () => {
    const web0 = model.requireUnit("my-web-app/0").machine.address;
    const services = yaml.dump([
      { service_name: "haproxy_service", service_host: "0.0.0.0", service_port: 80 },
      {
        service_name: "on_vip",
        service_host: vip,
        service_port: 8080,
        servers: [["web0", web0, 80, ""]],
      },
    ]);
    await model.config("haproxy", { services });
    for (const unit of unitsCounted(3)) {
      expect(statusOf(unit)).toMatchObject({ workload: "active" });
      expect(await model.readFile(unit, "/etc/haproxy/haproxy.cfg")).toContain(`bind ${vip}:8080`);
    }
    const response = await model.http(`http://${vip}:8080/`);
    expect(response.status).toBe(200);
    expect(response.body.trim()).toBe("my-web-app/0");
    await model.config("haproxy", { services: null });
  });

  it("moves the address when haproxy stops on the holder, and the client is served again", async () => {
    const holder = await onlyHolder();
    const loop = clientLoop(model, `http://${vip}/`);
    await eventually(async () => expect(loop.requests.some((r) => r.answer)).toBe(true));
    const stoppedAt = Date.now();
    await model.system(holder).haproxy.stop();
    await eventually(async () => expect(failoverSince(loop.requests, stoppedAt)).toBeDefined());
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await loop.stop();
    const failover = failoverSince(loop.requests, stoppedAt);
    console.log(`VIP failover: ${failover?.gapMs} ms, ${failover?.failed} failed requests`);
    const newHolder = await onlyHolder();
    expect(newHolder).not.toBe(holder);
    // Everything after the failover was served.
    const end = stoppedAt + (failover?.gapMs ?? 0);
    expect(loop.requests.filter((r) => r.start > end && r.answer === undefined)).toEqual([]);

    // The old holder's haproxy comes back (its next hook restarts it): the address stays.
    await model.trigger(holder, "update-status");
    expect(model.system(holder).haproxy.active).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(await onlyHolder()).toBe(newHolder);
  });

  it("reloads keepalived everywhere when a unit joins, without moving the address", async () => {
    const holder = await onlyHolder();
    const pids = new Map(unitsCounted(3).map((unit) => [unit, model.system(unit).keepalived.pid]));
    let added: string | undefined;
    // Past the new unit's startup delay: it must never take the address too.
    const samples = await holdersDuring(async () => {
      added = (await model.addUnit("haproxy", 1))[0]?.name;
    }, 35_000);
    expect(new Set(samples.map((holders) => holders.join(" ")))).toEqual(new Set([holder]));
    for (const unit of unitsCounted(4)) {
      const config = await model.readFile(unit, "/etc/keepalived/keepalived.conf");
      expect(config.match(/^ {4}\d+\.\d+\.\d+\.\d+$/gm)).toHaveLength(3);
      if (unit === added) continue;
      expect(model.system(unit).keepalived.pid).toBe(pids.get(unit));
      expect(model.system(unit).keepalived.history.at(-1)).toBe("reload");
    }
  }, 300_000);

  it("keeps the address when another unit leaves, and moves it when the holder leaves", async () => {
    const holder = await onlyHolder();
    const other = haproxyUnits().find((unit) => unit !== holder) ?? "";
    await model.removeUnit(other);
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(await onlyHolder()).toBe(holder);
    await model.removeUnit(holder);
    const next = await onlyHolder();
    expect(next).not.toBe(holder);
    // The client's switch learns the new holder from keepalived's gratuitous ARP.
    await eventually(async () => {
      expect((await model.http(`http://${vip}/`)).status).toBe(200);
    }, 30_000);
    for (const unit of unitsCounted(2)) {
      const config = await model.readFile(unit, "/etc/keepalived/keepalived.conf");
      expect(config.match(/^ {4}\d+\.\d+\.\d+\.\d+$/gm)).toHaveLength(1);
    }
  }, 300_000);

  it("blocks on a VIP outside the units' subnet, naming the option, and keeps serving", async () => {
    const holder = await onlyHolder();
    await model.config("haproxy", { vip: "192.0.2.10" });
    for (const unit of unitsCounted(2)) {
      expect(statusOf(unit)).toMatchObject({ workload: "blocked" });
      expect(statusOf(unit)?.message).toMatch(
        /^config option vip: 192.0.2.10 is not in this unit's subnet/,
      );
    }
    expect(await onlyHolder()).toBe(holder);
    expect((await model.http(`http://${vip}/`)).status).toBe(200);
    await model.config("haproxy", { vip });
    for (const unit of unitsCounted(2))
      expect(statusOf(unit)).toMatchObject({ workload: "active" });
  });

  it("releases the address everywhere and stops keepalived when vip is emptied", async () => {
    await model.config("haproxy", { vip: null });
    expect(await vipHolders(model, unitsCounted(2), vip)).toEqual([]);
    for (const unit of unitsCounted(2)) {
      expect(model.system(unit).keepalived.active).toBe(false);
      expect(statusOf(unit)?.message).toBe("Unit is ready");
      const bind = await model.exec(unit, ["sysctl", "-n", "net.ipv4.ip_nonlocal_bind"]);
      expect(bind.stdout.trim()).toBe("0");
    }
    const relation = model.relation(reverseproxyId);
    for (const unit of unitsCounted(2)) {
      expect(relation?.unitSettings.get(unit)?.get("public-address")).toBe(
        model.requireUnit(unit).machine.address,
      );
    }
  });
});
