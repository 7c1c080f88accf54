// The README's quick start against the packed charm in the local model:
//   juju deploy haproxy
//   juju deploy my-web-app -n 2
//   juju integrate my-web-app:website haproxy:reverseproxy
//   juju add-unit my-web-app
// then real requests through haproxy, scaling both sides, and a failed hook;
// once with each haproxy version the tests have (haproxyVersions.ts).

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { LocalModel } from "../localJuju/model.js";
import type { PackedCharm } from "./packedCharm.js";
import { packCharm } from "./packedCharm.js";
import { deployMyWebApp } from "./webApp.js";
import { answeringUnits } from "./traffic.js";
import { unitHaproxy } from "./unitHaproxy.js";

// Every step runs real hooks and haproxy reloads: allow for a busy machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let charm: PackedCharm;
let model: LocalModel;

function address(unit: string): string {
  return model.requireUnit(unit).machine.address;
}

function unitStatus(name: string): { workload: string; message: string; agent: string } {
  const unit = model
    .status()
    .applications.flatMap((app) => app.units)
    .find((candidate) => candidate.name === name);
  if (unit === undefined) throw new Error(`no ${name} in status`);
  return unit;
}

beforeAll(() => {
  charm = packCharm();
});

afterAll(() => {
  charm?.cleanup();
});

for (const { version, binary } of haproxyVersions) {
  describe(`haproxy ${version}`, () => {
    beforeAll(async () => {
      model = await LocalModel.create({ name: "quickstart", haproxyBinary: binary });
      await model.deploy(charm.file);
      // The seed's website-relation-joined: hostname from unit-get private-address, port 80.
      await deployMyWebApp(model);
    });

    afterAll(() => {
      model?.destroy();
    });

    it(`runs haproxy ${version} for the service and the charm's checks`, async () => {
      expect(await unitHaproxy(model, "haproxy/0")).toEqual({ onPath: version, running: version });
    });

    describe("the quick start", quickStart);
    describe("a hook that fails", failedHook);
  });
}

function quickStart(): void {
  it("leaves haproxy active with port 80 open", () => {
    expect(unitStatus("haproxy/0")).toMatchObject({ workload: "active", agent: "idle" });
    expect(model.requireUnit("haproxy/0").openedPorts.has("80/tcp")).toBe(true);
  });

  it("sends requests through haproxy to both backend units", async () => {
    expect(await answeringUnits(model, `http://${address("haproxy/0")}/`)).toEqual([
      "my-web-app/0",
      "my-web-app/1",
    ]);
  });

  it("adds a third backend when my-web-app gains a unit", async () => {
    await model.addUnit("my-web-app");
    expect(await answeringUnits(model, `http://${address("haproxy/0")}/`)).toEqual([
      "my-web-app/0",
      "my-web-app/1",
      "my-web-app/2",
    ]);
    const config = await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg");
    expect(config).toContain(`server my-web-app-2-80 ${address("my-web-app/2")}:80`);
  });

  it("takes a removed unit's server out", async () => {
    await model.removeUnit("my-web-app/2");
    const config = await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg");
    expect(config).not.toContain("my-web-app-2");
    expect(await answeringUnits(model, `http://${address("haproxy/0")}/`)).toEqual([
      "my-web-app/0",
      "my-web-app/1",
    ]);
  });

  it("serves through a second haproxy unit too", async () => {
    await model.addUnit("haproxy");
    expect(unitStatus("haproxy/1")).toMatchObject({ workload: "active", agent: "idle" });
    expect(await answeringUnits(model, `http://${address("haproxy/1")}/`)).toEqual([
      "my-web-app/0",
      "my-web-app/1",
    ]);
  });
}

function failedHook(): void {
  it("leaves the unit in error and the previous configuration serving", async () => {
    // The machine's /etc/haproxy turns read-only, as a full or failing disk would.
    const readOnly = await model.exec("haproxy/0", [
      "/bin/sh",
      "-c",
      "mount --bind /etc/haproxy /etc/haproxy && mount -o remount,bind,ro /etc/haproxy",
    ]);
    expect(readOnly.exitCode).toBe(0);
    await model.config("haproxy", { global_maxconn: 2000 });
    expect(unitStatus("haproxy/0")).toMatchObject({
      workload: "error",
      message: 'hook failed: "config-changed"',
    });
    expect(await answeringUnits(model, `http://${address("haproxy/0")}/`, 4)).toEqual([
      "my-web-app/0",
      "my-web-app/1",
    ]);
    expect(await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg")).not.toContain(
      "maxconn 2000",
    );

    await model.exec("haproxy/0", ["umount", "/etc/haproxy"]);
    await model.resolve("haproxy/0");
    expect(unitStatus("haproxy/0")).toMatchObject({ workload: "active", agent: "idle" });
    expect(await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg")).toContain("maxconn 2000");
  });
}
