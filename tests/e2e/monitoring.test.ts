// Monitoring, metrics and actions end to end: the packed charm in the local
// model, a real UDP receiver on a machine of its own standing for statsd,
// the statistics page queried with curl from the model's network, and every
// operator action run as `juju run` would.
import type { ChildProcess } from "node:child_process";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { LocalModel } from "../localJuju/model.js";
import { type PackedCharm, packCharm } from "./packedCharm.js";
import { deployMyWebApp } from "./webApp.js";

let charm: PackedCharm;
let model: LocalModel;
let receiver: ChildProcess;
const received: string[] = [];

const STATSD_PORT = 8125;
const address = (unit: string) => model.requireUnit(unit).machine.address;
/** Where model.http's curl runs from: the model switch, the machines' default gateway. */
let clientAddress: string;
const statsUrl = () => `http://${address("haproxy/0")}:10000/`;

// Prints every statsd line it receives, one per stdout line.
const receiverSource = `
const socket = require("node:dgram").createSocket("udp4");
socket.on("message", (m) => process.stdout.write(m.toString() + "\\n"));
socket.bind(${STATSD_PORT}, process.argv[1], () => process.stdout.write("listening\\n"));
`;

async function startReceiver(): Promise<void> {
  receiver = model
    .requireUnit("statsd/0")
    .machine.spawn([process.execPath, "-e", receiverSource, address("statsd/0")]);
  let buffer = "";
  await new Promise<void>((resolve, reject) => {
    receiver.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "listening") resolve();
        else if (line !== "") received.push(line);
      }
    });
    receiver.on("exit", (code) => reject(new Error(`UDP receiver exited (${code})`)));
  });
}

async function livePassword(): Promise<string> {
  const config = await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg");
  const password = /stats auth haproxy:(\S+)/.exec(config)?.[1];
  if (password === undefined) throw new Error("no stats auth line in haproxy.cfg");
  return password;
}

beforeAll(async () => {
  charm = packCharm();
  model = await LocalModel.create({ name: "monitoring" });
  await model.deploy(charm.file, { config: { enable_monitoring: true } });
  await deployMyWebApp(model);
  await model.deployScripted("statsd", {
    units: 1,
    endpoints: { metrics: { interface: "statsd", role: "provides" } },
  });
  await startReceiver();
  const route = await model.exec("haproxy/0", ["ip", "route", "show", "default"]);
  clientAddress = /via (\S+)/.exec(route.stdout)?.[1] ?? "";
  expect(clientAddress).not.toBe("");
}, 180_000);

afterAll(() => {
  receiver?.kill();
  model?.destroy();
  charm?.cleanup();
});

describe("the statistics page", () => {
  it("answers with the generated password and refuses without it", async () => {
    await model.config("haproxy", { monitoring_allowed_cidr: `${clientAddress}/32` });
    expect(model.requireUnit("haproxy/0").workload.status).toBe("active");
    const password = await livePassword();
    const page = await model.http(statsUrl(), { curlArgs: ["-u", `haproxy:${password}`] });
    expect(page.status).toBe(200);
    expect(page.body).toContain("Statistics Report");
    expect((await model.http(statsUrl())).status).toBe(401);
    expect((await model.http(statsUrl(), { curlArgs: ["-u", "haproxy:changeme"] })).status).toBe(
      401,
    );
  });

  it("refuses clients outside monitoring_allowed_cidr, even with the password", async () => {
    await model.config("haproxy", { monitoring_allowed_cidr: `${address("statsd/0")}/32` });
    expect(model.requireUnit("haproxy/0").workload.status).toBe("active");
    const password = await livePassword();
    const page = await model.http(statsUrl(), { curlArgs: ["-u", `haproxy:${password}`] });
    expect(page.status).toBe(403);
    await model.config("haproxy", { monitoring_allowed_cidr: `${clientAddress}/32` });
  });

  it("serves the Prometheus exporter when asked to", async () => {
    await model.config("haproxy", { monitoring_prometheus: true });
    const password = await livePassword();
    const metrics = await model.http(`${statsUrl()}metrics`, {
      curlArgs: ["-u", `haproxy:${password}`],
    });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^haproxy_process_uptime_seconds \d+/m);
    expect((await model.http(`${statsUrl()}metrics`)).status).toBe(401);
  });
});

describe("the statistics relation", () => {
  it("gives a related subordinate the page's address and credentials", async () => {
    await model.deployScripted("telegraf", {
      units: 1,
      endpoints: { statistics: { interface: "statistics", role: "requires" } },
    });
    const id = await model.integrate("telegraf:statistics", "haproxy:statistics");
    const published = model.relation(id)?.unitSettings.get("haproxy/0");
    expect(Object.fromEntries(published ?? [])).toMatchObject({
      enabled: "True",
      "listener-address": "127.0.0.1",
      port: "10000",
      user: "haproxy",
      password: await livePassword(),
    });
  });
});

describe("statsd metrics", () => {
  it("installs a schedule whose job sends gauges for the frontend and every server", async () => {
    await model.config("haproxy", {
      metrics_target: `${address("statsd/0")}:${STATSD_PORT}`,
      metrics_prefix: "e2e.$UNIT.haproxy",
      metrics_sample_interval: 1,
    });
    expect(model.requireUnit("haproxy/0").agent).toBe("idle");
    const cron = await model.readFile("haproxy/0", "/etc/cron.d/haproxy-charm-metrics");
    const entry = cron.split("\n").find((line) => line.startsWith("* * * * * root "));
    expect(entry).toBeDefined();
    // The job runs once, as cron would run it on the unit.
    const command = (entry ?? "").replace(/^\* \* \* \* \* root /, "").replace(/ 2>&1 \|.*$/, "");
    const run = await model.exec("haproxy/0", ["/bin/sh", "-c", command]);
    expect(run).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^sent \d+ gauges/) });
    const sent = Number(/sent (\d+)/.exec(run.stdout)?.[1]);

    const deadline = Date.now() + 5000;
    while (received.length < sent && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(received).toHaveLength(sent);
    const names = new Set(received.map((line) => line.split(":")[0]));
    expect(names).toContain("e2e.haproxy-0.haproxy.haproxy-0-80.FRONTEND.stot.1min");
    const config = await model.readFile("haproxy/0", "/etc/haproxy/haproxy.cfg");
    const servers = [...config.matchAll(/^\s+server (my-web-app-\d-80) /gm)].map((m) => m[1]);
    expect(servers).toHaveLength(2);
    const backend = config
      .split(/\n(?=backend )/)
      .find((section) => section.includes("server my-web-app-0-80"))
      ?.match(/^backend (\S+)/)?.[1];
    expect(backend).toBeDefined();
    for (const server of servers) {
      expect(names).toContain(`e2e.haproxy-0.haproxy.${backend}.${server}.scur.1min`);
    }
    expect(
      received.every((line) => /^e2e\.haproxy-0\.haproxy\.[^:]+\.1min:-?[\d.]+\|g$/.test(line)),
    ).toBe(true);
  });

  it("removes the schedule when metrics_target is emptied", async () => {
    await model.config("haproxy", { metrics_target: "" });
    const listing = await model.exec("haproxy/0", ["ls", "/etc/cron.d"]);
    expect(listing.stdout).not.toContain("haproxy-charm-metrics");
  });
});

describe("actions", () => {
  it("show-config prints the live haproxy.cfg without the password", async () => {
    const result = await model.runAction("haproxy/0", "show-config");
    expect(result.status).toBe("completed");
    expect(result.results).toMatchObject({ path: "/etc/haproxy/haproxy.cfg" });
    expect(result.output).toContain("frontend haproxy-0-80");
    expect(result.output).toContain("stats auth haproxy:<redacted");
    expect(result.output).not.toContain(await livePassword());
  });

  it("backend-status reports both web servers up", async () => {
    const result = await model.runAction("haproxy/0", "backend-status");
    expect(result.status).toBe("completed");
    expect(result.results).toMatchObject({ "servers-up": "2", "servers-down": "0" });
    expect(result.output).toMatch(/my-web-app-0-80:\n\s+status: UP/);
  });

  it("show-password prints the password the statistics page takes", async () => {
    const result = await model.runAction("haproxy/0", "show-password");
    expect(result.status).toBe("completed");
    const password = result.output.trim().split("\n")[0] ?? "";
    expect(password).toBe(await livePassword());
    const page = await model.http(statsUrl(), { curlArgs: ["-u", `haproxy:${password}`] });
    expect(page.status).toBe(200);
  });

  it("reload reloads haproxy, which keeps serving", async () => {
    const result = await model.runAction("haproxy/0", "reload");
    expect(result).toMatchObject({ status: "completed", results: { result: "reloaded" } });
    expect((await model.http(`http://${address("haproxy/0")}/`)).status).toBe(200);
  });
});

describe("machine options", () => {
  it("holds the haproxy package and applies sysctl settings", async () => {
    await model.config("haproxy", {
      package_status: "hold",
      sysctl: "{ net.ipv4.tcp_fin_timeout: 20, vm.swappiness: 10 }",
    });
    expect(model.requireUnit("haproxy/0").agent).toBe("idle");
    const system = model.system("haproxy/0");
    expect(system.selections).toContain("haproxy hold");
    expect(system.kernelSettings.get("vm.swappiness")).toBe("10");
    const finTimeout = await model.exec("haproxy/0", ["sysctl", "-n", "net.ipv4.tcp_fin_timeout"]);
    expect(finTimeout.stdout.trim()).toBe("20");
  });
});
