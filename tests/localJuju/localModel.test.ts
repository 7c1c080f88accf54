// The local model against a throwaway charm: Juju's event order and
// environment, hook tool semantics, per-unit machines driving real haproxy
// processes, a broken charm caught, and nothing left behind.

import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeCertificate } from "../helpers/nodeCertificate.js";
import { namespacesSync } from "./network.js";
import { LocalModel } from "./model.js";
import { packTinyCharm } from "./tinyCharm.js";

let model: LocalModel;
let tiny: ReturnType<typeof packTinyCharm>;
let relationId: number;

/** A killed child stays a zombie until Node reaps it: that is not running. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function events(unit: string): Promise<string[]> {
  const text = await model.readFile(unit, "/var/lib/tiny/events");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.trim());
}

beforeAll(async () => {
  tiny = packTinyCharm();
  model = await LocalModel.create({ name: "testing" });
  await model.deploy(tiny.charm, { units: 2 });
  await model.deployScripted("my-web-app", {
    units: 1,
    endpoints: { website: { interface: "http", role: "provides" } },
    unitSettings: (unit) => ({ hostname: unit.address, port: "8000" }),
  });
  relationId = await model.integrate("my-web-app:website", "tiny:backend");
});

afterAll(() => {
  model?.destroy();
  tiny?.cleanup();
});

describe("a new unit", () => {
  it("runs Juju's setup hooks in order, then meets its peers", async () => {
    expect(await events("tiny/0")).toEqual([
      "install",
      "peer-relation-created",
      "leader-elected",
      "config-changed",
      "start",
      "peer-relation-joined tiny/1",
      "peer-relation-changed tiny/1",
      "backend-relation-created",
      "backend-relation-joined my-web-app/0",
      "backend-relation-changed my-web-app/0",
    ]);
    expect((await events("tiny/1")).slice(0, 3)).toEqual([
      "install",
      "peer-relation-created",
      "leader-settings-changed",
    ]);
  });

  it("gets Juju's environment, with the charm unpacked where the agent keeps it", async () => {
    const env = await model.readFile("tiny/0", "/var/lib/tiny/env-backend-relation-changed");
    const charmDir = "/var/lib/juju/agents/unit-tiny-0/charm";
    expect(env).toContain(`CHARM_DIR=${charmDir}\n`);
    expect(env).toContain(`JUJU_CHARM_DIR=${charmDir}\n`);
    expect(env).toContain("JUJU_DISPATCH_PATH=hooks/backend-relation-changed\n");
    expect(env).toContain("JUJU_HOOK_NAME=backend-relation-changed\n");
    expect(env).toContain("JUJU_MODEL_NAME=testing\n");
    expect(env).toContain("JUJU_UNIT_NAME=tiny/0\n");
    expect(env).toContain("JUJU_RELATION=backend\n");
    expect(env).toContain(`JUJU_RELATION_ID=backend:${relationId}\n`);
    expect(env).toContain("JUJU_REMOTE_UNIT=my-web-app/0\n");
    expect(env).toContain("JUJU_REMOTE_APP=my-web-app\n");
    expect(env).toMatch(/^JUJU_VERSION=3\.\d+\.\d+$/m);
    expect(await model.exec("tiny/0", ["test", "-x", `${charmDir}/dispatch`])).toMatchObject({
      exitCode: 0,
    });
  });

  it("reads typed config with defaults applied", async () => {
    const config = JSON.parse(await model.readFile("tiny/0", "/var/lib/tiny/config.json"));
    expect(config).toEqual({
      greeting: "hello",
      port: 8080,
      verbose: false,
      broken: false,
      "fail-after-relation-set": false,
    });
  });
});

describe("relations", () => {
  it("shows a remote unit's settings with the addresses Juju fills in", async () => {
    const remote = JSON.parse(
      await model.readFile("tiny/0", "/var/lib/tiny/remote-my-web-app-0.json"),
    );
    const address = model.requireUnit("my-web-app/0").machine.address;
    expect(remote).toEqual({
      "egress-subnets": `${address}/32`,
      hostname: address,
      "ingress-address": address,
      port: "8000",
      "private-address": address,
    });
  });

  it("commits relation-set from a successful hook, multi-line --file values included", () => {
    const settings = model.relation(relationId)?.unitSettings.get("tiny/1");
    expect(settings?.get("services")).toBe("- name: one\n  port: 80\n");
    expect(settings?.get("unit")).toBe("tiny/1");
    expect(settings?.get("greeting")).toBe("hello");
  });

  it("sends relation-changed when a scripted unit's data changes", async () => {
    await model.setRelationData("my-web-app/0", relationId, { port: "9000" });
    const remote = JSON.parse(
      await model.readFile("tiny/1", "/var/lib/tiny/remote-my-web-app-0.json"),
    );
    expect(remote.port).toBe("9000");
    expect((await events("tiny/1")).at(-1)).toBe("backend-relation-changed my-web-app/0");
  });
});

describe("units as machines of their own", () => {
  it("gives each unit its own address, files and a real haproxy driven through systemctl", async () => {
    const [zero, one] = ["tiny/0", "tiny/1"].map((name) => model.requireUnit(name).machine);
    expect(zero?.address).not.toBe(one?.address);
    expect((await model.http(`http://${zero?.address}:8080/`)).body).toBe("tiny/0 hello");
    expect((await model.http(`http://${one?.address}:8080/`)).body).toBe("tiny/1 hello");
    expect(model.requireUnit("tiny/0").openedPorts).toEqual(new Set(["8080/tcp"]));
    // The host's own /etc/haproxy and /var/lib never see a unit's writes.
    expect(existsSync("/var/lib/tiny")).toBe(false);
    expect(model.system("tiny/0").commands).toEqual(
      expect.arrayContaining([
        "apt-get install -y -q haproxy",
        "dpkg --set-selections",
        "systemctl start haproxy",
      ]),
    );
    expect(model.system("tiny/0").selections).toEqual(["haproxy hold"]);
  });

  it("runs web servers in a unit that log what they receive, delay on request, and speak HTTPS", async () => {
    const address = model.requireUnit("my-web-app/0").machine.address;
    const plain = await model.serveHttp("my-web-app/0", 8100, "plain");
    await model.http(`http://${address}:8100/a?delay=300`, { curlArgs: ["-H", "X-Probe: 1"] });
    const [seen] = plain.requests();
    expect(seen).toMatchObject({ method: "GET", url: "/a?delay=300", headers: { "x-probe": "1" } });
    expect(model.backendServer("my-web-app/0", 8100)).toBe(plain);
    const { pem, keyPem } = nodeCertificate(address);
    const secure = await model.serveHttp("my-web-app/0", 8443, "secure", {
      certificate: pem,
      key: keyPem,
    });
    const response = await model.http(`https://${address}:8443/b`, { curlArgs: ["--insecure"] });
    expect(response.body.trim()).toBe("secure");
    expect(secure.requests().map((request) => request.url)).toEqual(["/b"]);
    plain.stop();
    secure.stop();
    await expect(model.runServer("my-web-app/0", ["false"])).rejects.toThrow(/exited \(1\)/);
  });

  it("applies net.* sysctls to the unit's own network only, and keeps kernel-wide ones off the host", async () => {
    const inUnit = await model.exec("tiny/0", ["cat", "/proc/sys/net/core/somaxconn"]);
    expect(inUnit.stdout.trim()).toBe("1234");
    expect(readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim()).not.toBe("1234");
    expect(readFileSync("/proc/sys/vm/swappiness", "utf8").trim()).not.toBe("7");
    expect(model.system("tiny/0").kernelSettings).toEqual(new Map([["vm.swappiness", "7"]]));
  });

  it("reloads haproxy in place when config changes (master-worker, USR2)", async () => {
    const masterBefore = model.system("tiny/0").haproxy.pid;
    await model.config("tiny", { greeting: "bonjour" });
    const address = model.requireUnit("tiny/0").machine.address;
    expect((await model.http(`http://${address}:8080/`)).body).toBe("tiny/0 bonjour");
    expect(model.system("tiny/0").haproxy.pid).toBe(masterBefore);
    expect(model.system("tiny/0").haproxy.history.at(-1)).toBe("reload");
  });

  it("keeps haproxy's lines in the unit's journal, as journalctl reads them", async () => {
    const journal = (...args: string[]) => model.exec("tiny/0", ["journalctl", ...args]);
    const all = await journal("--unit", "haproxy", "--output", "cat", "--no-pager");
    expect(all.exitCode).toBe(0);
    expect(all.stdout).toContain("Loading success.");
    const last = await journal("-u", "haproxy.service", "-n", "1", "-o", "cat");
    expect(last.stdout.trim().split("\n")).toHaveLength(1);
    const later = Math.floor(Date.now() / 1000) + 60;
    expect((await journal("--unit", "haproxy", `--since=@${later}`, "--quiet")).stdout).toBe("");
    expect((await journal("--unit", "cron", "--since", "@0")).stdout).toBe("-- No entries --\n");
    // What the model cannot answer faithfully fails loudly.
    const unknown = await journal("--follow");
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain("does not support --follow");
    expect((await journal("--since", "yesterday")).exitCode).toBe(1);
    expect((await journal("--output", "json")).exitCode).toBe(1);
  });

  it("refuses unknown options and badly typed values like juju config", async () => {
    await expect(model.config("tiny", { colour: "blue" })).rejects.toThrow(/unknown option/);
    await expect(model.config("tiny", { port: "eighty" })).rejects.toThrow(/expected int/);
  });
});

describe("a broken charm", () => {
  it("calling a hook tool with an unknown flag leaves the unit in error", async () => {
    await model.config("tiny", { broken: "true" });
    const unit = model.requireUnit("tiny/0");
    expect(unit.agent).toBe("error");
    expect(model.status().applications.find((app) => app.name === "tiny")?.units[0]).toMatchObject({
      workload: "error",
      message: 'hook failed: "config-changed"',
    });
    expect(unit.hookRuns.at(-1)?.output).toContain(
      "ERROR option provided but not defined: --no-such-flag",
    );
    // Fixing the config queues behind the error; resolving retries with the new value.
    await model.config("tiny", { broken: "false" });
    expect(unit.agent).toBe("error");
    await model.resolve("tiny/0");
    await model.resolve("tiny/1");
    expect(unit.agent).toBe("idle");
    expect(model.status().applications.find((app) => app.name === "tiny")?.units[0]?.workload).toBe(
      "active",
    );
  });

  it("discards relation-set and status-set of a failed hook", async () => {
    await model.config("tiny", { "fail-after-relation-set": true });
    const settings = model.relation(relationId)?.unitSettings.get("tiny/0");
    expect(settings?.has("discarded")).toBe(false);
    expect(model.requireUnit("tiny/0").workload.status).toBe("active");
    await model.config("tiny", { "fail-after-relation-set": false });
    await model.resolve("tiny/0");
    await model.resolve("tiny/1");
    expect(model.requireUnit("tiny/0").agent).toBe("idle");
    expect(model.requireUnit("tiny/1").agent).toBe("idle");
  });

  it("an action reports its results without touching the unit's state", async () => {
    const result = await model.runAction("tiny/1", "echo", { text: "marco" });
    expect(result).toMatchObject({
      status: "completed",
      results: { echoed: "marco", unit: "tiny/1" },
    });
  });
});

describe("removing", () => {
  it("a unit: departed on every side, then broken, stop and remove; its machine goes away", async () => {
    const namespace = model.requireUnit("tiny/1").machine.namespace;
    await model.removeUnit("tiny/1");
    expect(model.unit("tiny/1")).toBeUndefined();
    expect(namespacesSync()).not.toContain(namespace);
    expect((await events("tiny/0")).slice(-1)).toEqual(["peer-relation-departed tiny/1 tiny/1"]);
    expect(await model.readFile("tiny/0", "/var/lib/tiny/members")).toBe('["my-web-app/0"]\n');
  });

  it("a scripted unit: the charm sees it depart", async () => {
    await model.removeUnit("my-web-app/0");
    expect((await events("tiny/0")).at(-1)).toBe(
      "backend-relation-departed my-web-app/0 my-web-app/0",
    );
    expect(await model.readFile("tiny/0", "/var/lib/tiny/members")).toBe("[]\n");
  });

  it("the whole model: no namespace, process or file is left", () => {
    const { prefix, dir } = model;
    const haproxyPid = model.system("tiny/0").haproxy.pid;
    model.destroy();
    expect(namespacesSync().filter((name) => name.startsWith(prefix))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(haproxyPid).toBeDefined();
    expect(isRunning(haproxyPid ?? 0)).toBe(false);
  });
});
