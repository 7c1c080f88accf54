// A related unit whose data passes the charm's field checks but that haproxy
// rejects must not hold back the other units, nor every later change.
import { readFile } from "node:fs/promises";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type Backend, answeringBackends, startBackend } from "../../helpers/httpBackends.js";
import { findFreePort } from "../../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../../helpers/unitSandbox.js";

const RELATION = "reverseproxy:4";

let backends: Backend[] = [];
let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let port: number;

const unitData = (backend: Backend, extra: Record<string, string> = {}) => ({
  "private-address": "127.0.0.1",
  port: String(backend.port),
  ...extra,
});

/** Relation data adding a server to the shared service with a keyword haproxy does not know. */
const badServices = (backend: Backend) =>
  `- {service_name: web, servers: [[web-2, 127.0.0.1, ${backend.port}, frobnicate]]}`;

const changed = (unit: string) =>
  sandbox.hook("reverseproxy-relation-changed", {
    JUJU_RELATION_ID: RELATION,
    JUJU_REMOTE_UNIT: unit,
  });

beforeAll(async () => {
  for (const name of ["web/0", "web/1", "web/2", "web/3"]) {
    backends.push(await startBackend(name));
  }
});
afterAll(async () => {
  await Promise.all(backends.map((backend) => backend.close()));
  backends = [];
});

beforeEach(async () => {
  port = await findFreePort();
  tools = new MemoryHookTools();
  tools.config = {
    services:
      `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}, ` +
      `service_options: [balance roundrobin]}`,
  };
  sandbox = await createUnitSandbox(tools, { probePorts: [port] });
  const [web0, web1] = backends as [Backend, Backend];
  tools.addUnit(RELATION, "web/0", unitData(web0));
  tools.addUnit(RELATION, "web/1", unitData(web1));
  await sandbox.hook("config-changed");
});
afterEach(() => sandbox.cleanup());

describe("a related unit whose data haproxy rejects", () => {
  it("is left out with a warning naming it and haproxy's complaint; the others are served", async () => {
    const web2 = backends[2] as Backend;
    tools.addUnit(RELATION, "web/2", unitData(web2, { services: badServices(web2) }));
    await changed("web/2");

    expect(await answeringBackends(port, 6)).toEqual(["web/0", "web/1"]);
    expect(tools.status).toEqual({
      status: "active",
      message: "Unit is ready; ignoring 1 unit with invalid relation data (see juju debug-log)",
    });
    const warnings = tools.logs.filter((log) => log.level === "WARNING");
    expect(warnings.map((log) => log.message)).toEqual([
      expect.stringMatching(
        /^reverseproxy unit web\/2 \(reverseproxy:4\) not served: haproxy rejects the configuration its data makes: .*frobnicate/,
      ),
    ]);
    expect(await readFile(sandbox.paths.haproxyConfig, "utf8")).not.toContain("frobnicate");
  });

  it("does not hold back a later unit, and is served once its data is fixed", async () => {
    const [, , web2, web3] = backends as [Backend, Backend, Backend, Backend];
    tools.addUnit(RELATION, "web/2", unitData(web2, { services: badServices(web2) }));
    await changed("web/2");
    tools.addUnit(RELATION, "web/3", unitData(web3));
    await changed("web/3");
    expect(await answeringBackends(port, 8)).toEqual(["web/0", "web/1", "web/3"]);

    tools.addUnit(RELATION, "web/2", unitData(web2));
    await changed("web/2");
    expect(await answeringBackends(port, 8)).toEqual(["web/0", "web/1", "web/2", "web/3"]);
    expect(tools.status).toEqual({ status: "active", message: "Unit is ready" });
  });

  it("does not excuse the operator's own bad option: blocked, and the live config serves on", async () => {
    const live = await readFile(sandbox.paths.haproxyConfig, "utf8");
    tools.config = {
      services:
        `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}, ` +
        `service_options: [balance fastest-first]}`,
    };
    await sandbox.hook("config-changed");
    expect(tools.status?.status).toBe("blocked");
    expect(tools.status?.message).toMatch(
      /^haproxy rejected the new configuration: .*balance only supports/,
    );
    expect(await readFile(sandbox.paths.haproxyConfig, "utf8")).toBe(live);
    expect(await answeringBackends(port, 4)).toEqual(["web/0", "web/1"]);
  });
});
