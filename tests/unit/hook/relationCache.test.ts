// Hook-tool calls per relation event must not grow with the number of
// units: a relation hook reads only the unit it is about, plus membership.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { hookContextFromEnv } from "../../../src/hook/hookContext.js";
import type { HookDeps } from "../../../src/hook/reconcile.js";
import { runHook } from "../../../src/hook/runHook.js";
import type { Paths } from "../../../src/paths.js";
import { HaproxyProcess, findFreePort } from "../../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../../helpers/memoryHookTools.js";

const RELATION = "reverseproxy:1";
let root: string;
let paths: Paths;
let haproxy: HaproxyProcess;
let port: number;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "charm-cache-"));
  paths = {
    haproxyConfig: path.join(root, "etc", "haproxy.cfg"),
    haproxyLib: path.join(root, "lib"),
    haproxyRun: path.join(root, "run"),
    charmState: path.join(root, "state"),
  };
  await mkdir(path.join(root, "etc"));
  port = await findFreePort();
  haproxy = new HaproxyProcess({
    configFile: paths.haproxyConfig,
    pidFile: path.join(root, "pid"),
  });
});
afterEach(async () => {
  await haproxy.stop();
  await rm(root, { recursive: true, force: true });
});

function modelWith(units: number) {
  const tools = new MemoryHookTools();
  tools.config = {
    services: `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}}`,
  };
  for (let i = 0; i < units; i++) {
    tools.addUnit(RELATION, `app/${i}`, {
      "private-address": `10.0.${i >> 8}.${i & 255}`,
      port: "80",
    });
  }
  const deps: HookDeps = {
    tools,
    paths,
    service: haproxy,
    haproxyBinary: "haproxy",
    fileOwner: "haproxy",
  };
  const hook = (name: string, env: Record<string, string> = {}) =>
    runHook(deps, hookContextFromEnv(name, { JUJU_UNIT_NAME: "haproxy/0", ...env }));
  return { tools, hook };
}

async function callsForJoin(existingUnits: number): Promise<number> {
  const { tools, hook } = modelWith(existingUnits);
  await hook("config-changed");
  tools.addUnit(RELATION, `app/${existingUnits}`, { "private-address": "10.9.9.9", port: "80" });
  const before = tools.calls;
  await hook("reverseproxy-relation-changed", {
    JUJU_RELATION_ID: RELATION,
    JUJU_REMOTE_UNIT: `app/${existingUnits}`,
  });
  expect(await readFile(paths.haproxyConfig, "utf8")).toContain(
    `server app-${existingUnits}-80 10.9.9.9:80`,
  );
  return tools.calls - before;
}

describe("relation settings cache", () => {
  it("makes as many hook-tool calls for the 101st unit as for the 11th", async () => {
    const small = await callsForJoin(10);
    await haproxy.stop();
    await rm(paths.charmState, { recursive: true, force: true });
    await rm(paths.haproxyConfig, { force: true });
    const large = await callsForJoin(100);
    expect(large).toBe(small);
    expect(small).toBeLessThan(20);
  });

  it("re-reads the unit an event is about and drops a departed unit", async () => {
    const { tools, hook } = modelWith(3);
    await hook("config-changed");
    tools.addUnit(RELATION, "app/1", { "private-address": "10.7.7.7", port: "81" });
    await hook("reverseproxy-relation-changed", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_UNIT: "app/1",
    });
    tools.removeUnit(RELATION, "app/2");
    await hook("reverseproxy-relation-departed", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_UNIT: "app/2",
      JUJU_DEPARTING_UNIT: "app/2",
    });
    const text = await readFile(paths.haproxyConfig, "utf8");
    expect(text).toContain("server app-1-81 10.7.7.7:81");
    expect(text).not.toContain("app-2-80");
    expect(text).toContain("server app-0-80 10.0.0.0:80");
  });

  it("reads everything again on config-changed and when the cache is unreadable", async () => {
    const { tools, hook } = modelWith(2);
    await hook("config-changed");
    // A change no hook announced (cannot happen under Juju) shows which reads are live.
    tools.addUnit(RELATION, "app/0", { "private-address": "10.5.5.5", port: "80" });
    await hook("reverseproxy-relation-changed", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_UNIT: "app/1",
    });
    expect(await readFile(paths.haproxyConfig, "utf8")).toContain("10.0.0.0:80");

    await writeFile(path.join(paths.charmState, "relation-cache.json"), "{not json");
    await hook("reverseproxy-relation-changed", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_UNIT: "app/1",
    });
    expect(await readFile(paths.haproxyConfig, "utf8")).toContain("10.5.5.5:80");

    tools.addUnit(RELATION, "app/0", { "private-address": "10.6.6.6", port: "80" });
    await hook("config-changed");
    expect(await readFile(paths.haproxyConfig, "utf8")).toContain("10.6.6.6:80");
  });
});
