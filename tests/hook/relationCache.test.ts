// Hook-tool calls per relation event must not grow with the number of
// units: a relation hook reads only the unit it is about, plus membership.
import { readFile, writeFile } from "node:fs/promises";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { stateFilePath } from "../../src/stateFiles.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { MemoryHookTools } from "../helpers/memoryHookTools.js";
import { type UnitSandbox, createUnitSandbox } from "../helpers/unitSandbox.js";

const RELATION = "reverseproxy:1";
let port: number;
const sandboxes: UnitSandbox[] = [];

beforeEach(async () => {
  port = await findFreePort();
});
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.cleanup()));
});

/** A fresh haproxy unit related to `units` application units. */
async function modelWith(units: number) {
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
  const sandbox = await createUnitSandbox(tools);
  sandboxes.push(sandbox);
  const liveConfig = () => readFile(sandbox.paths.haproxyConfig, "utf8");
  return { tools, hook: sandbox.hook, paths: sandbox.paths, liveConfig };
}

async function callsForJoin(existingUnits: number): Promise<number> {
  const { tools, hook, liveConfig } = await modelWith(existingUnits);
  await hook("config-changed");
  tools.addUnit(RELATION, `app/${existingUnits}`, { "private-address": "10.9.9.9", port: "80" });
  const before = tools.calls;
  await hook("reverseproxy-relation-changed", {
    JUJU_RELATION_ID: RELATION,
    JUJU_REMOTE_UNIT: `app/${existingUnits}`,
  });
  expect(await liveConfig()).toContain(`server app-${existingUnits}-80 10.9.9.9:80`);
  return tools.calls - before;
}

describe("relation settings cache", () => {
  it("makes as many hook-tool calls for the 101st unit as for the 11th", async () => {
    const small = await callsForJoin(10);
    await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.cleanup()));
    const large = await callsForJoin(100);
    expect(large).toBe(small);
    expect(small).toBeLessThan(20);
  });

  it("re-reads the unit an event is about and drops a departed unit", async () => {
    const { tools, hook, liveConfig } = await modelWith(3);
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
    const text = await liveConfig();
    expect(text).toContain("server app-1-81 10.7.7.7:81");
    expect(text).not.toContain("app-2-80");
    expect(text).toContain("server app-0-80 10.0.0.0:80");
  });

  it("reads everything again on config-changed and when the cache is unreadable", async () => {
    const { tools, hook, paths, liveConfig } = await modelWith(2);
    await hook("config-changed");
    // A change no hook announced (cannot happen under Juju) shows which reads are live.
    tools.addUnit(RELATION, "app/0", { "private-address": "10.5.5.5", port: "80" });
    await hook("reverseproxy-relation-changed", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_UNIT: "app/1",
    });
    expect(await liveConfig()).toContain("10.0.0.0:80");

    await writeFile(stateFilePath(paths.charmState, "relationCache"), "{not json");
    await hook("reverseproxy-relation-changed", {
      JUJU_RELATION_ID: RELATION,
      JUJU_REMOTE_UNIT: "app/1",
    });
    expect(await liveConfig()).toContain("10.5.5.5:80");

    tools.addUnit(RELATION, "app/0", { "private-address": "10.6.6.6", port: "80" });
    await hook("config-changed");
    expect(await liveConfig()).toContain("10.6.6.6:80");
  });
});
