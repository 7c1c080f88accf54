// README "Speed at scale", held by tests rather than the benchmark alone:
// a joining reverseproxy or ingress unit's relation-changed makes at most 4
// hook-tool calls whatever the number of units, while what changes still reaches
// relation data and status; haproxy is validated (`haproxy -c`) at most once
// per hook and not at all when the rendered file equals the live one, and a
// no-op update-status of the bundled charm loads neither the model nor the
// templates.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { stateFilePath } from "../../src/stateFiles.js";

import { type Backend, startBackend } from "../helpers/httpBackends.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { type HookToolCall, MemoryHookTools, recordingCalls } from "../helpers/memoryHookTools.js";
import { type PrivateBundle, buildPrivateBundle } from "../helpers/privateBundle.js";
import { startProductionUnit } from "../helpers/productionUnit.js";
import { recordingWrapper } from "../helpers/recordingWrapper.js";
import { createUnitSandbox } from "../helpers/unitSandbox.js";

const RELATION = "reverseproxy:1";

let dir: string;
let backends: Backend[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "hook-cost-"));
  backends = await Promise.all(["web/0", "web/1", "web/2"].map((name) => startBackend(name)));
});
afterAll(async () => {
  await Promise.all(backends.map((backend) => backend.close()));
  await rm(dir, { recursive: true, force: true });
});

const unitData = (backend: Backend | undefined) => ({
  "private-address": "127.0.0.1",
  port: String(backend?.port),
});

/** A call's name, with the relation it sets for relationSet, for messages that say which calls. */
const callName = ({ tool, args }: HookToolCall) =>
  tool === "relationSet" ? `relationSet ${String(args[0])}` : tool;

/** Fails upkeep's first hook-tool call, which follows the reconcile's writes; returns the undo. */
function failUpkeep(memory: MemoryHookTools): () => void {
  const relationIds = memory.relationIds;
  memory.relationIds = (endpoint) =>
    endpoint === "statistics"
      ? Promise.reject(new Error("the agent went away"))
      : relationIds.call(memory, endpoint);
  return () => {
    memory.relationIds = relationIds;
  };
}

describe("hook-tool calls of a reverseproxy join", () => {
  const PEER = "peer:0";

  /** haproxy/0 configured, started and related to `units` units of web (no backends needed). */
  async function unitWith(units: number) {
    const memory = new MemoryHookTools();
    const { tools, calls } = recordingCalls(memory);
    const port = await findFreePort();
    const sandbox = await createUnitSandbox(tools, { probePorts: [port] });
    memory.config = {
      services: `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}}`,
      // As config-get gives it, with its default: published as a deleted key.
      ssl_cert: "",
    };
    memory.endpoints.set(PEER, "peer");
    for (let i = 0; i < units; i++) {
      memory.addUnit(RELATION, `web/${i}`, { "private-address": "127.0.0.1", port: `${9000 + i}` });
    }
    for (const hook of ["install", "config-changed", "start"]) await sandbox.hook(hook);
    /** The calls of `hook`, by name. */
    const callsOf = async (hook: string, env: Record<string, string> = {}) => {
      calls.length = 0;
      await sandbox.hook(hook, env);
      return calls.map(callName);
    };
    /** web/N joins: its joined, then its changed hook; the calls of the latter. */
    const join = async (n: number) => {
      memory.addUnit(RELATION, `web/${n}`, { "private-address": "127.0.0.1", port: `${9000 + n}` });
      const env = { JUJU_RELATION_ID: RELATION, JUJU_REMOTE_UNIT: `web/${n}` };
      await callsOf("reverseproxy-relation-joined", env);
      const calls = await callsOf("reverseproxy-relation-changed", env);
      const live = await readFile(sandbox.paths.haproxyConfig, "utf8");
      expect(live).toContain(`server web-${n}-${9000 + n} 127.0.0.1:${9000 + n}`);
      return calls;
    };
    return { memory, sandbox, callsOf, join };
  }

  it.each([10, 50])(
    "makes at most 4 calls in the %i-th unit's relation-changed, also after update-status",
    async (n) => {
      const { sandbox, callsOf, join } = await unitWith(n - 2);
      try {
        expect((await join(n - 2)).length).toBeLessThanOrEqual(4);
        // update-status reads the cache back from Juju: it still holds.
        await callsOf("update-status");
        const calls = await join(n - 1);
        expect(calls.length, calls.join(", ")).toBeLessThanOrEqual(4);
        // What those calls are: the joining unit, the membership, the peers' services
        // (the reverseproxy bag, unchanged, is not set again).
        expect(calls.sort()).toEqual(["relationGet", "relationList", `relationSet ${PEER}`]);
      } finally {
        await sandbox.cleanup();
      }
    },
    60_000,
  );

  it("still publishes what changes, and sets a status that changes", async () => {
    const { memory, sandbox, callsOf, join } = await unitWith(2);
    try {
      await join(2);
      // A new address comes with config-changed (Juju runs it when addresses change).
      memory.publicAddress = "203.0.113.99";
      await callsOf("config-changed");
      expect(memory.local.get(RELATION)).toMatchObject({ "public-address": "203.0.113.99" });
      // The join after it serves the new unit with what config-changed read.
      await join(3);
      expect(memory.local.get(RELATION)).toMatchObject({ "public-address": "203.0.113.99" });

      const services = memory.config.services;
      memory.config = { services: "- {service_name: 'bad name', service_port: 80}" };
      await callsOf("config-changed");
      expect(memory.status?.status).toBe("blocked");
      memory.config = { services };
      await callsOf("config-changed");
      expect(memory.status).toEqual({ status: "active", message: "Unit is ready" });
    } finally {
      await sandbox.cleanup();
    }
  }, 60_000);

  it("converges on update-status after a status or a bag was set behind its back", async () => {
    const { memory, sandbox, callsOf, join } = await unitWith(2);
    try {
      await join(2);
      const published = memory.local.get(RELATION);
      memory.status = { status: "maintenance", message: "someone else's status" };
      memory.local.set(RELATION, { "public-address": "192.0.2.1" });
      // A join skips the unchanged status and bag: its cache says so.
      await join(3);
      expect(memory.status.message).toBe("someone else's status");
      await callsOf("update-status");
      expect(memory.status).toEqual({ status: "active", message: "Unit is ready" });
      // update-status read the bag back, so the next hook sets it again.
      await join(4);
      expect(memory.local.get(RELATION)).toEqual(published);
    } finally {
      await sandbox.cleanup();
    }
  }, 60_000);

  it("forgets what a failed hook set: Juju discards it", async () => {
    const { memory, sandbox, callsOf, join } = await unitWith(2);
    try {
      await join(2);
      const before = memory.local.get(RELATION);
      memory.publicAddress = "203.0.113.77";
      // A tool that fails after the relation-set (upkeep, which follows publishing).
      const recover = failUpkeep(memory);
      await expect(callsOf("config-changed")).rejects.toThrow("the agent went away");
      expect(memory.local.get(RELATION)).toMatchObject({ "public-address": "203.0.113.77" });
      recover();
      // As Juju does with a failed hook's writes; then `juju resolve --no-retry`.
      memory.local.set(RELATION, { ...before });
      await join(3);
      expect(memory.local.get(RELATION)).toMatchObject({ "public-address": "203.0.113.77" });
    } finally {
      await sandbox.cleanup();
    }
  }, 60_000);

  it("sets its status again after a failed hook's status-set, which Juju applied at once", async () => {
    const { memory, sandbox, callsOf, join } = await unitWith(2);
    try {
      await join(2);
      expect(memory.status).toEqual({ status: "active", message: "Unit is ready" });
      memory.addUnit(RELATION, "web/bad", { "private-address": "127.0.0.1", port: "eighty" });
      // A tool that fails after the status-set (upkeep follows the reconcile).
      const recover = failUpkeep(memory);
      await expect(callsOf("config-changed")).rejects.toThrow("the agent went away");
      // Unlike relation data, the status stays as the failed hook set it.
      expect(memory.status?.message).toMatch(/ignoring 1 unit/);
      recover();
      memory.removeUnit(RELATION, "web/bad");
      // `juju resolve --no-retry`, then the next unit joins.
      const calls = await join(3);
      expect(memory.status).toEqual({ status: "active", message: "Unit is ready" });
      expect(calls).toContain("statusSet");
      // Set once, it is left out again.
      expect(await join(4)).not.toContain("statusSet");
    } finally {
      await sandbox.cleanup();
    }
  }, 60_000);

  it("only costs calls when the cache file is lost, garbled or of another version", async () => {
    const { memory, sandbox, callsOf, join } = await unitWith(2);
    const file = stateFilePath(sandbox.paths.charmState, "hookToolCache");
    try {
      await join(2);
      const cached = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
      const wrong = {
        config: { services: "- {service_name: stale, service_port: 1}" },
        addresses: { "public-address": "192.0.2.66", "private-address": "192.0.2.66" },
        unitBags: { [RELATION]: { "public-address": memory.publicAddress, ssl_cert: "" } },
        status: { status: "active", message: "Unit is ready" },
      };
      for (const [what, text] of [
        ["garbled", "{not json"],
        ["of another version", JSON.stringify({ ...cached, ...wrong, version: 0 })],
        ["of the wrong shape", JSON.stringify({ ...cached, addresses: [1], unitBags: 7 })],
      ] as const) {
        memory.local.set(RELATION, {});
        memory.status = { status: "maintenance", message: "not set yet" };
        await writeFile(file, text);
        const calls = await join(Number(memory.remote.get(RELATION)?.size));
        expect(calls.length, what).toBeGreaterThan(4);
        expect(memory.local.get(RELATION), what).toMatchObject({
          "public-address": memory.publicAddress,
        });
        expect(memory.status, what).toEqual({ status: "active", message: "Unit is ready" });
        expect(await readFile(sandbox.paths.haproxyConfig, "utf8"), what).not.toContain("stale");
      }
      await rm(file);
      expect((await callsOf("update-status")).length).toBeGreaterThan(0);
    } finally {
      await sandbox.cleanup();
    }
  }, 60_000);
});

describe("hook-tool calls of an ingress join", () => {
  const INGRESS = "ingress:3";
  const requirerUnit = (i: number) => ({ host: JSON.stringify(`10.4.0.${i + 1}`) });

  it.each([10, 50])(
    "makes at most 4 calls in the %i-th requirer unit's relation-changed, also after update-status",
    async (n) => {
      // Ingress listens on port 80: a network namespace of haproxy's own keeps it from sharing
      // (SO_REUSEPORT) the port 80 of other tests running beside.
      const haproxyBinary = path.join(dir, "haproxy-own-network");
      await writeFile(haproxyBinary, '#!/bin/sh\nexec unshare --net haproxy "$@"\n', {
        mode: 0o755,
      });
      const memory = new MemoryHookTools();
      const { tools, calls } = recordingCalls(memory);
      const sandbox = await createUnitSandbox(tools, { haproxyBinary });
      memory.config = { services: "" };
      memory.setRemoteApp(INGRESS, "app", { model: '"bench"', name: '"app"', port: "80" });
      for (let i = 0; i < n - 2; i++) memory.addUnit(INGRESS, `app/${i}`, requirerUnit(i));
      const env = (i: number) => ({
        JUJU_RELATION_ID: INGRESS,
        JUJU_REMOTE_APP: "app",
        JUJU_REMOTE_UNIT: `app/${i}`,
      });
      /** app/i joins: its joined, then its changed hook; the calls of the latter. */
      const join = async (i: number) => {
        memory.addUnit(INGRESS, `app/${i}`, requirerUnit(i));
        await sandbox.hook("ingress-relation-joined", env(i));
        calls.length = 0;
        await sandbox.hook("ingress-relation-changed", env(i));
        const live = await readFile(sandbox.paths.haproxyConfig, "utf8");
        expect(live).toContain(`server app-${i} 10.4.0.${i + 1}:80 `);
        return calls.map(callName);
      };
      try {
        for (const hook of ["install", "config-changed", "start"]) await sandbox.hook(hook);
        expect((await join(n - 2)).length).toBeLessThanOrEqual(4);
        await sandbox.hook("update-status");
        const called = await join(n - 1);
        expect(called.length, called.join(", ")).toBeLessThanOrEqual(4);
        // The application's bag, the membership, the joining unit, and whether to publish (the
        // URL, unchanged, is not set again).
        expect(called.sort()).toEqual([
          "isLeader",
          "relationGet",
          "relationGetApp",
          "relationList",
        ]);
        expect(await sandbox.haproxy.isRunning()).toBe(true);
        expect(memory.localApp.get(INGRESS)).toEqual({
          ingress: JSON.stringify({ url: `http://${memory.publicAddress}/bench-app/` }),
        });
      } finally {
        await sandbox.cleanup();
      }
    },
    60_000,
  );
});

describe("haproxy -c per hook", () => {
  it("runs at most once, and only when the rendered file differs from the live one", async () => {
    const runs = path.join(dir, "haproxy-runs.log");
    const haproxyBinary = await recordingWrapper(dir, "haproxy", "haproxy", runs);
    const port = await findFreePort();
    const tools = new MemoryHookTools();
    const sandbox = await createUnitSandbox(tools, { probePorts: [port], haproxyBinary });
    const services = (balance: string) =>
      `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}, ` +
      `service_options: [balance ${balance}]}`;
    const relation = (unit: string) => ({ JUJU_RELATION_ID: RELATION, JUJU_REMOTE_UNIT: unit });
    tools.config = { services: services("roundrobin") };
    tools.addUnit(RELATION, "web/0", unitData(backends[0]));

    // Each step: what it is, what changes before its hook, the hook and its environment.
    const steps: [string, () => void, string, Record<string, string>][] = [
      ["install", () => undefined, "install", {}],
      ["the first configuration", () => undefined, "config-changed", {}],
      ["start", () => undefined, "start", {}],
      [
        "web/1 joins (joined only publishes)",
        () => tools.addUnit(RELATION, "web/1", unitData(backends[1])),
        "reverseproxy-relation-joined",
        relation("web/1"),
      ],
      [
        "web/1's first relation-changed",
        () => undefined,
        "reverseproxy-relation-changed",
        relation("web/1"),
      ],
      [
        "web/1's data, unchanged",
        () => undefined,
        "reverseproxy-relation-changed",
        relation("web/1"),
      ],
      [
        "web/2 joins",
        () => tools.addUnit(RELATION, "web/2", unitData(backends[2])),
        "reverseproxy-relation-changed",
        relation("web/2"),
      ],
      ["update-status", () => undefined, "update-status", {}],
      ["config unchanged", () => undefined, "config-changed", {}],
      [
        "the services option changes",
        () => (tools.config = { services: services("leastconn") }),
        "config-changed",
        {},
      ],
      ["upgrade-charm, nothing new", () => undefined, "upgrade-charm", {}],
      [
        "a peer joins",
        () => tools.addUnit("peer:0", "haproxy/1", { "private-address": "127.0.0.2" }),
        "peer-relation-joined",
        { JUJU_RELATION_ID: "peer:0", JUJU_REMOTE_UNIT: "haproxy/1" },
      ],
      [
        "a website unit joins",
        () => tools.addUnit("website:2", "apache2/0", { "private-address": "127.0.0.3" }),
        "website-relation-changed",
        { JUJU_RELATION_ID: "website:2", JUJU_REMOTE_UNIT: "apache2/0" },
      ],
      [
        "web/2 departs",
        () => tools.removeUnit(RELATION, "web/2"),
        "reverseproxy-relation-departed",
        { JUJU_RELATION_ID: RELATION, JUJU_DEPARTING_UNIT: "web/2" },
      ],
      ["update-status again", () => undefined, "update-status", {}],
    ];
    try {
      const seen: { step: string; configChanged: boolean; checks: number }[] = [];
      for (const [step, make, hook, env] of steps) {
        make();
        const before = await readFile(sandbox.paths.haproxyConfig, "utf8").catch(() => "");
        await writeFile(runs, "");
        await sandbox.hook(hook, env);
        const after = await readFile(sandbox.paths.haproxyConfig, "utf8").catch(() => "");
        const checks = (await readFile(runs, "utf8"))
          .split("\n")
          .filter((line) => /^haproxy -c /.test(line)).length;
        seen.push({ step, configChanged: before !== after, checks });
      }
      expect(seen).toEqual(seen.map((step) => ({ ...step, checks: step.configChanged ? 1 : 0 })));
      // The scenario exercises both sides of the rule.
      expect(seen.filter((step) => step.configChanged).length).toBeGreaterThanOrEqual(4);
      expect(seen.filter((step) => !step.configChanged).length).toBeGreaterThanOrEqual(6);
    } finally {
      await sandbox.cleanup();
    }
  });
});

describe("a no-op update-status of the bundled charm", () => {
  let bundle: PrivateBundle;
  beforeAll(async () => {
    bundle = await buildPrivateBundle();
  }, 60_000);
  afterAll(() => bundle?.cleanup());

  // What each part of the charm the README names is recognised by, in whichever chunk it lands.
  const PARTS = {
    model: "function planConfiguration(",
    "YAML parser": "YAMLException",
    renderer: "function renderHaproxyConfig(",
    "template runtime": "HandlebarsEnvironment",
  };

  /** Which of PARTS the files a hook loaded contain. */
  async function partsLoaded(files: readonly string[]): Promise<string[]> {
    const texts = await Promise.all(files.map((file) => readFile(file, "utf8")));
    return Object.entries(PARTS)
      .filter(([, marker]) => texts.some((text) => text.includes(marker)))
      .map(([part]) => part);
  }

  it("loads neither the model nor the templates, which config-changed does load", async () => {
    // A loader hook in every Node.js the hook starts writes down each module it loads.
    const loadLog = path.join(dir, "loaded.log");
    const hooks = path.join(dir, "loadLog.mjs");
    const preload = path.join(dir, "registerLoadLog.mjs");
    await writeFile(
      hooks,
      `import { appendFileSync } from "node:fs";\n` +
        `let log;\n` +
        `export function initialize(data) { log = data.log; }\n` +
        `export async function load(url, context, next) {\n` +
        `  appendFileSync(log, url + "\\n");\n` +
        `  return next(url, context);\n` +
        `}\n`,
    );
    await writeFile(
      preload,
      `import { register } from "node:module";\n` +
        `register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: ${JSON.stringify(loadLog)} } });\n`,
    );
    const port = await findFreePort();
    const unit = await startProductionUnit({ bundle, probePorts: [port] });
    const loadedBy = async (event: string): Promise<string[]> => {
      await writeFile(loadLog, "");
      const result = await unit.dispatch(event, { NODE_OPTIONS: `--import ${preload}` });
      expect(result, event).toMatchObject({ exitCode: 0 });
      const dist = pathToFileURL(path.join(unit.charmDir, "dist")).href;
      const urls = (await readFile(loadLog, "utf8"))
        .split("\n")
        .filter((url) => url.startsWith(dist));
      // The entry point at least: proof that the log sees the charm's modules.
      expect(urls.length, event).toBeGreaterThan(0);
      return urls.map((url) => new URL(url).pathname);
    };
    try {
      unit.tools.config = {
        services: `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}}`,
      };
      unit.tools.addUnit(RELATION, "web/0", unitData(backends[0]));
      for (const event of ["install", "config-changed", "start"]) {
        expect(await unit.dispatch(event), event).toMatchObject({ exitCode: 0 });
      }
      expect(await unit.haproxy.isRunning()).toBe(true);

      expect(await partsLoaded(await loadedBy("update-status"))).toEqual([]);
      expect(unit.tools.status).toEqual({ status: "active", message: "Unit is ready" });
      expect(await partsLoaded(await loadedBy("config-changed"))).toEqual(Object.keys(PARTS));
    } finally {
      await unit.cleanup();
    }
  }, 120_000);
});
