// A related unit whose data passes the charm's field checks but that haproxy
// rejects must not hold back the other units, nor every later change.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type Backend, answeringBackends, startBackend } from "../helpers/httpBackends.js";
import { PROBE_BUDGET } from "../../src/hook/rejectedUnits.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { recordingWrapper } from "../helpers/recordingWrapper.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

const RELATION = "reverseproxy:4";

let backends: Backend[] = [];
let sandbox: UnitSandbox;
let tools: MemoryHookTools;
let port: number;
let wrapperDir: string;
let haproxyRuns: string;
let haproxyBinary: string;

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
  wrapperDir = await mkdtemp(path.join(tmpdir(), "haproxy-runs-"));
  haproxyRuns = path.join(wrapperDir, "runs.log");
  haproxyBinary = await recordingWrapper(wrapperDir, "haproxy", "haproxy", haproxyRuns);
  for (const name of ["web/0", "web/1", "web/2", "web/3"]) {
    backends.push(await startBackend(name));
  }
});
afterAll(async () => {
  await rm(wrapperDir, { recursive: true, force: true });
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
  await writeFile(haproxyRuns, "");
  sandbox = await createUnitSandbox(tools, { probePorts: [port], haproxyBinary });
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

  it("is tried last by the next hook, which then confirms the other units in one check", async () => {
    const [web0, web1, web2] = backends as [Backend, Backend, Backend];
    for (let i = 10; i < 40; i += 1) {
      tools.addUnit(RELATION, `web/${i}`, unitData(i % 2 === 0 ? web0 : web1));
    }
    tools.addUnit(RELATION, "web/2", unitData(web2, { services: badServices(web2) }));
    await writeFile(haproxyRuns, "");
    await changed("web/2");
    const firstChecks = await checksRun();

    await writeFile(haproxyRuns, "");
    await sandbox.hook("config-changed");
    // The full configuration, no unit, the others, the suspect with them.
    expect(await checksRun()).toBe(4);
    expect(firstChecks).toBeGreaterThan(8);
    expect(tools.status?.message).toMatch(/ignoring 1 unit/);
    expect(await readFile(sandbox.paths.haproxyConfig, "utf8")).toContain("web-39-");
  });

  it("bounds the checks of one hook however many units haproxy rejects", async () => {
    // 100 more units, every third rejected: narrowing each would take hundreds of checks.
    const [web0, web1] = backends as [Backend, Backend];
    const added = 100;
    for (let i = 1; i <= added; i += 1) {
      const backend = i % 2 === 0 ? web0 : web1;
      const bad: Record<string, string> = i % 3 === 0 ? { services: badServices(backend) } : {};
      tools.addUnit(RELATION, `web/${100 + i}`, unitData(backend, bad));
    }
    await writeFile(haproxyRuns, "");
    await sandbox.hook("config-changed");

    // The hook's own check and its final apply, the search's budget, and one
    // more check for each half still waiting when the budget runs out.
    const units = added + 2;
    const bound = 2 + PROBE_BUDGET + Math.ceil(Math.log2(units)) + 1;
    const checks = await checksRun();
    expect(checks).toBeLessThanOrEqual(bound);
    expect(checks).toBeGreaterThan(PROBE_BUDGET);
    expect(tools.status?.message).toMatch(
      /^Unit is ready; ignoring \d+ units with invalid relation data/,
    );
    const live = await readFile(sandbox.paths.haproxyConfig, "utf8");
    expect(live).not.toContain("frobnicate");
    expect(live).toContain("web-0-");
  }, 120_000);

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

async function checksRun(): Promise<number> {
  const runs = await readFile(haproxyRuns, "utf8");
  return runs.split("\n").filter((line) => line.startsWith("haproxy -c ")).length;
}
