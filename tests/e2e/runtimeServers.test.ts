// Units joining and leaving without a reload, in the local model with the
// packed charm: `juju add-unit my-web-app` and `juju remove-unit` change
// the servers of the running haproxy worker through its admin socket. The
// master reloads no worker, the worker's pid stays, and the new unit gets
// traffic; the departed unit's server is gone.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { takesCookieOnAddedServers } from "../helpers/haproxyCapabilities.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { LocalModel } from "../localJuju/model.js";
import type { PackedCharm } from "./packedCharm.js";
import { packCharm } from "./packedCharm.js";
import { eventually } from "../helpers/eventually.js";
import { answeringUnits } from "./traffic.js";
import { askUnit, workerPid } from "./unitHaproxy.js";
import { deployMyWebApp } from "./webApp.js";

vi.setConfig({ testTimeout: 90_000, hookTimeout: 120_000 });

let charm: PackedCharm;

beforeAll(() => {
  charm = packCharm();
});

afterAll(() => {
  charm?.cleanup();
});

// haproxy takes `cookie` on a server added at run time from 3.0 on; the
// default service's servers carry one, so on 2.6 (and 2.8) a service without it.
const WITHOUT_COOKIES = `- service_name: web
  service_host: 0.0.0.0
  service_port: 80
  service_options: [balance leastconn]
  server_options: maxconn 100 check inter 500
`;

for (const { version, binary } of haproxyVersions) {
  const configs: [string, Record<string, string>][] = [
    ["a leastconn service without cookies", { services: WITHOUT_COOKIES }],
    ...((await takesCookieOnAddedServers(binary))
      ? [["the default service", {}] as [string, Record<string, string>]]
      : []),
  ];
  describe.each(configs)(`haproxy ${version}, %s`, (_, config) => {
    let model: LocalModel;
    const url = () => `http://${model.requireUnit("haproxy/0").machine.address}/`;
    const serviceReloads = () =>
      model.system("haproxy/0").haproxy.history.filter((entry) => entry === "reload").length;
    // The master's own count, and the service's (systemctl reload), must both stay.
    const reloads = async () => {
      const proc = await askUnit(model, "haproxy/0", "show proc", "/run/haproxy-master.sock");
      const master = /^\d+\s+master\s+(\d+)/m.exec(proc)?.[1];
      return `${master} ${serviceReloads()}`;
    };
    const servers = async () =>
      (await askUnit(model, "haproxy/0", "show servers state"))
        .split("\n")
        .filter((line) => /^\d+ /.test(line))
        .map((line) => line.split(" ")[3]);

    beforeAll(async () => {
      model = await LocalModel.create({ name: "runtime", haproxyBinary: binary });
      await model.deploy(charm.file, { config });
      await deployMyWebApp(model);
    });

    afterAll(() => {
      model?.destroy();
    });

    it("a joining unit takes traffic from the same worker, without a reload", async () => {
      const [reloadsBefore, workerBefore] = [await reloads(), await workerPid(model)];
      expect(workerBefore).toBeDefined();
      expect(reloadsBefore).toMatch(/^\d+ \d+$/);

      await model.addUnit("my-web-app");

      expect(await reloads()).toBe(reloadsBefore);
      expect(await workerPid(model)).toBe(workerBefore);
      await eventually(async () => {
        expect(await answeringUnits(model, url())).toEqual([
          "my-web-app/0",
          "my-web-app/1",
          "my-web-app/2",
        ]);
      });
    });

    // Not the last one: the others keep their `{i}` (the default service's
    // `cookie S{i}`), so none of their lines changes.
    it("a departing unit's server leaves the same worker, without a reload", async () => {
      const [reloadsBefore, workerBefore] = [await reloads(), await workerPid(model)];

      await model.removeUnit("my-web-app/1");

      expect(await reloads()).toBe(reloadsBefore);
      expect(await workerPid(model)).toBe(workerBefore);
      expect(await servers()).toEqual(["my-web-app-0-80", "my-web-app-2-80"]);
      expect(await answeringUnits(model, url())).toEqual(["my-web-app/0", "my-web-app/2"]);
    });

    it("a restart of haproxy serves what the worker served: the file says the same", async () => {
      const before = await servers();
      await model.system("haproxy/0").haproxy.stop();
      await model.trigger("haproxy/0", "update-status");
      expect(await servers()).toEqual(before);
      await eventually(async () => {
        expect(await answeringUnits(model, url())).toEqual(["my-web-app/0", "my-web-app/2"]);
      }, 5000);
    });
  });
}
