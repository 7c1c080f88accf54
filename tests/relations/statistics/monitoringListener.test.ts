// The statistics page and the Prometheus exporter on monitoring_port, served
// by a real haproxy: a password is required, sources outside
// monitoring_allowed_cidr are refused, and `changeme` means a generated
// password that stays the same for the unit's life.
import { request } from "node:http";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type CharmUnit, startCharmUnit } from "../../helpers/charmUnit.js";

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

function get(
  port: number,
  path: string,
  options: { auth?: string; from?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        agent: false,
        localAddress: options.from ?? "127.0.0.1",
        ...(options.auth !== undefined && { auth: options.auth }),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            contentType: String(res.headers["content-type"] ?? ""),
          }),
        );
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

let unit: CharmUnit;

beforeEach(async () => {
  unit = await startCharmUnit({ backends: 1 });
});
afterEach(async () => {
  await unit.cleanup();
});

async function configure(values: Record<string, unknown>): Promise<void> {
  await unit.configure(values);
  expect(unit.tools.status).toEqual({ status: "active", message: "Unit is ready" });
}

describe("the statistics page", () => {
  it("answers with the password and refuses without it or with a wrong one", async () => {
    await configure({ monitoring_username: "ops", monitoring_password: "Corr3ct-Horse" });
    const page = await get(unit.monitoringPort, "/", { auth: "ops:Corr3ct-Horse" });
    expect(page.status).toBe(200);
    expect(page.body).toContain("Statistics Report");
    expect(page.body).toContain("web");
    expect((await get(unit.monitoringPort, "/")).status).toBe(401);
    expect((await get(unit.monitoringPort, "/", { auth: "ops:wrong" })).status).toBe(401);
  });

  it("refuses sources outside monitoring_allowed_cidr, even with the password", async () => {
    await configure({
      monitoring_password: "Corr3ct-Horse",
      monitoring_allowed_cidr: "127.0.0.2/32",
    });
    const auth = "haproxy:Corr3ct-Horse";
    expect((await get(unit.monitoringPort, "/", { auth, from: "127.0.0.2" })).status).toBe(200);
    expect((await get(unit.monitoringPort, "/", { auth, from: "127.0.0.1" })).status).toBe(403);
  });

  it("accepts every listed network", async () => {
    await configure({
      monitoring_password: "Corr3ct-Horse",
      monitoring_allowed_cidr: "127.0.0.2/32 127.0.0.3/32",
    });
    const auth = "haproxy:Corr3ct-Horse";
    expect((await get(unit.monitoringPort, "/", { auth, from: "127.0.0.3" })).status).toBe(200);
    expect((await get(unit.monitoringPort, "/", { auth, from: "127.0.0.4" })).status).toBe(403);
  });

  it("uses a generated password for `changeme`, the same one in every hook, never logged", async () => {
    await configure({});
    const cfg = await import("node:fs/promises").then((fs) =>
      fs.readFile(unit.paths.haproxyConfig, "utf8"),
    );
    const password = /stats auth haproxy:(\S+)/.exec(cfg)?.[1] ?? "";
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect((await get(unit.monitoringPort, "/", { auth: `haproxy:${password}` })).status).toBe(200);
    expect((await get(unit.monitoringPort, "/", { auth: "haproxy:changeme" })).status).toBe(401);

    await unit.hook("upgrade-charm");
    await unit.hook("config-changed");
    expect((await get(unit.monitoringPort, "/", { auth: `haproxy:${password}` })).status).toBe(200);
    expect(JSON.stringify(unit.tools.logs)).not.toContain(password);
  });
});

describe("the Prometheus exporter (monitoring_prometheus)", () => {
  it("serves haproxy's metrics at /metrics with the monitoring credentials", async () => {
    await configure({ monitoring_password: "Corr3ct-Horse", monitoring_prometheus: true });
    const metrics = await get(unit.monitoringPort, "/metrics", { auth: "haproxy:Corr3ct-Horse" });
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toContain("text/plain");
    expect(metrics.body).toMatch(/^haproxy_backend_status\{proxy="web",state="UP"\} 1$/m);
    // The statistics page is still there.
    expect((await get(unit.monitoringPort, "/", { auth: "haproxy:Corr3ct-Horse" })).status).toBe(
      200,
    );
  });

  it("refuses /metrics without the password and from outside the allowed networks", async () => {
    await configure({
      monitoring_password: "Corr3ct-Horse",
      monitoring_prometheus: true,
      monitoring_allowed_cidr: "127.0.0.2/32",
    });
    const auth = "haproxy:Corr3ct-Horse";
    expect((await get(unit.monitoringPort, "/metrics", { from: "127.0.0.2" })).status).toBe(401);
    expect(
      (await get(unit.monitoringPort, "/metrics", { auth: "haproxy:x", from: "127.0.0.2" })).status,
    ).toBe(401);
    expect((await get(unit.monitoringPort, "/metrics", { auth, from: "127.0.0.1" })).status).toBe(
      403,
    );
    expect((await get(unit.monitoringPort, "/metrics", { auth, from: "127.0.0.2" })).status).toBe(
      200,
    );
  });

  it("is not served when the option is off", async () => {
    await configure({ monitoring_password: "Corr3ct-Horse" });
    const answer = await get(unit.monitoringPort, "/metrics", { auth: "haproxy:Corr3ct-Horse" });
    expect(answer.body).not.toContain("haproxy_backend_status");
  });
});
