// haproxy that cannot start, through systemd as a unit runs it: systemctl
// says only "Job for haproxy.service failed", so the status must carry
// haproxy's own reason from the journal; update-status clears it once the
// port is free again.
// A reload systemd reports done although haproxy could not load the file is
// found out the same way, while the old worker keeps serving.
import type { ChildProcess } from "node:child_process";

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { LocalModel } from "../localJuju/model.js";
import type { PackedCharm } from "./packedCharm.js";
import { packCharm } from "./packedCharm.js";
import { eventually } from "../helpers/eventually.js";
import { answeringUnits } from "./traffic.js";
import { deployMyWebApp } from "./webApp.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let charm: PackedCharm;
let model: LocalModel;
let squatter: ChildProcess | undefined;

const workload = () => model.requireUnit("haproxy/0").workload;
const url = () => `http://${model.requireUnit("haproxy/0").machine.address}/`;

beforeAll(async () => {
  charm = packCharm();
  model = await LocalModel.create({ name: "cannot-start" });
  await model.deploy(charm.file);
  await deployMyWebApp(model, 1);
});

afterAll(() => {
  squatter?.kill("SIGKILL");
  model?.destroy();
  charm?.cleanup();
});

describe("haproxy unable to start on a unit", () => {
  it("blocks with haproxy's reason from the journal, and recovers on update-status", async () => {
    expect(await answeringUnits(model, url(), 2)).toEqual(["my-web-app/0"]);

    // haproxy dies, and another program takes its port meanwhile.
    const { haproxy, machine } = model.system("haproxy/0");
    await haproxy.stop();
    squatter = machine.spawn([
      "node",
      "-e",
      "require('net').createServer(s => s.destroy()).listen(80, '0.0.0.0', () => console.log('listening'))",
    ]);
    await new Promise<void>((resolve, reject) => {
      squatter?.stdout?.once("data", () => resolve());
      squatter?.once("exit", (code) => reject(new Error(`the squatter exited with ${code}`)));
    });

    await model.trigger("haproxy/0", "update-status");
    expect(workload().status).toBe("blocked");
    expect(workload().message).toMatch(/^haproxy cannot start: .*cannot bind socket.*:80\]/);
    // The ERROR log line has systemd's summary and haproxy's lines after it.
    const errors = model
      .requireUnit("haproxy/0")
      .log.filter((line) => line.level === "ERROR")
      .map((line) => line.message)
      .join("\n");
    expect(errors).toMatch(/Job for haproxy.service failed[^]*\[ALERT\][^]*cannot bind socket/);
    expect(haproxy.active).toBe(false);

    squatter.kill("SIGKILL");
    await new Promise((resolve) => squatter?.once("exit", resolve));
    squatter = undefined;
    await model.trigger("haproxy/0", "update-status");
    expect(workload()).toEqual({ status: "active", message: "Unit is ready" });
    await eventually(async () => {
      expect(await answeringUnits(model, url(), 2)).toEqual(["my-web-app/0"]);
    });
  });

  it("blocks with haproxy's reason from the journal when a reload does not load, serving the old file meanwhile", async () => {
    const defaults = [
      "- service_name: haproxy_service",
      '  service_host: "0.0.0.0"',
      "  service_port: 80",
      "  service_options: [balance leastconn, cookie SRVNAME insert]",
      "  server_options: maxconn 100 cookie S{i} check",
    ];
    // 192.0.2.1 (TEST-NET-1) is no address of the unit's: `haproxy -c` passes, loading fails.
    const elsewhere = [
      "- service_name: elsewhere",
      "  service_host: 192.0.2.1",
      "  service_port: 8080",
    ];
    await model.config("haproxy", { services: [...defaults, ...elsewhere, ""].join("\n") });
    expect(workload().status).toBe("blocked");
    expect(workload().message).toMatch(
      /^haproxy cannot reload: .*cannot bind socket.*\[192\.0\.2\.1:8080\]/,
    );
    expect(model.system("haproxy/0").haproxy.active).toBe(true);
    expect(await answeringUnits(model, url(), 2)).toEqual(["my-web-app/0"]);

    await model.config("haproxy", { services: null });
    expect(workload()).toEqual({ status: "active", message: "Unit is ready" });
    expect(await answeringUnits(model, url(), 2)).toEqual(["my-web-app/0"]);
  });
});
