// ExecaHookTools against stand-in hook tools: small executables first on
// PATH that record how they were called and answer like Juju's tools.
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_SERVICES } from "../../src/config/charmConfig.js";
import { HookToolError } from "../../src/lib/errors.js";
import { ExecaHookTools } from "../../src/juju/execaHookTools.js";
import { HOOK_TOOL_NAMES } from "../helpers/hookToolNames.js";

const TOOLS = HOOK_TOOL_NAMES;

// Appends {argv, stdin} to calls.jsonl, then answers with <tool>.out on
// stdout, <tool>.err on stderr and the exit code in <tool>.exit, if present.
const STAND_IN = `
const { appendFileSync, existsSync, readFileSync } = require("node:fs");
const { basename, dirname, join } = require("node:path");
const dir = dirname(process.argv[1]);
const tool = basename(process.argv[1]);
const read = (name) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8") : "");
let stdin = "";
try { stdin = readFileSync(0, "utf8"); } catch {}
appendFileSync(join(dir, "calls.jsonl"), JSON.stringify({ argv: [tool, ...process.argv.slice(2)], stdin }) + "\\n");
process.stdout.write(read(tool + ".out"));
process.stderr.write(read(tool + ".err"));
process.exitCode = Number(read(tool + ".exit") || 0);
`;

interface Call {
  argv: string[];
  stdin: string;
}

let toolDir: string;
let tools: ExecaHookTools;

async function answer(tool: string, stdout: string, exit = 0, stderr = ""): Promise<void> {
  await writeFile(join(toolDir, `${tool}.out`), stdout);
  await writeFile(join(toolDir, `${tool}.exit`), String(exit));
  await writeFile(join(toolDir, `${tool}.err`), stderr);
}

async function recordedCalls(): Promise<Call[]> {
  const log = await readFile(join(toolDir, "calls.jsonl"), "utf8").catch(() => "");
  return log
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Call);
}

async function recordedArgv(): Promise<string[][]> {
  return (await recordedCalls()).map((call) => call.argv);
}

beforeAll(async () => {
  toolDir = await mkdtemp(join(tmpdir(), "hook-tools-"));
  for (const tool of TOOLS) {
    const path = join(toolDir, tool);
    await writeFile(path, `#!${process.execPath}\n${STAND_IN}`);
    await chmod(path, 0o755);
  }
});

afterAll(async () => {
  await rm(toolDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await rm(join(toolDir, "calls.jsonl"), { force: true });
  for (const tool of TOOLS) await answer(tool, "");
  tools = new ExecaHookTools({ env: { PATH: `${toolDir}:${process.env.PATH ?? ""}` } });
});

describe("reading from Juju", () => {
  it("reads typed config with config-get --format=json", async () => {
    await answer(
      "config-get",
      '{"global_maxconn": 4096, "enable_monitoring": true, "services": ""}',
    );
    expect(await tools.configGet()).toEqual({
      global_maxconn: 4096,
      enable_monitoring: true,
      services: "",
    });
    expect(await recordedArgv()).toEqual([["config-get", "--format=json"]]);
  });

  it("lists relation ids and units, treating null or no output as none", async () => {
    await answer("relation-ids", '["reverseproxy:3", "reverseproxy:7"]\n');
    await answer("relation-list", '["web/0", "web/1"]');
    expect(await tools.relationIds("reverseproxy")).toEqual(["reverseproxy:3", "reverseproxy:7"]);
    expect(await tools.relationList("reverseproxy:3")).toEqual(["web/0", "web/1"]);
    await answer("relation-ids", "null");
    await answer("relation-list", "");
    expect(await tools.relationIds("website")).toEqual([]);
    expect(await tools.relationList("reverseproxy:7")).toEqual([]);
    expect(await recordedArgv()).toEqual([
      ["relation-ids", "--format=json", "reverseproxy"],
      ["relation-list", "-r", "reverseproxy:3", "--format=json"],
      ["relation-ids", "--format=json", "website"],
      ["relation-list", "-r", "reverseproxy:7", "--format=json"],
    ]);
  });

  it("reads a unit's settings as strings with relation-get", async () => {
    await answer(
      "relation-get",
      JSON.stringify({
        port: "8080",
        "private-address": "10.0.0.5",
        services: "- service_name: app\n  service_port: 80\n",
        weight: 5,
        enabled: true,
        dropped: null,
      }),
    );
    expect(await tools.relationGet("reverseproxy:3", "web/0")).toEqual({
      port: "8080",
      "private-address": "10.0.0.5",
      services: "- service_name: app\n  service_port: 80\n",
      weight: "5",
      enabled: "true",
    });
    expect(await recordedArgv()).toEqual([
      ["relation-get", "-r", "reverseproxy:3", "--format=json", "-", "web/0"],
    ]);
  });

  it("treats a unit with no settings as empty", async () => {
    await answer("relation-get", "null\n");
    expect(await tools.relationGet("reverseproxy:3", "web/0")).toEqual({});
    await answer("relation-get", "");
    expect(await tools.relationGet("reverseproxy:3", "web/1")).toEqual({});
  });

  it("reads addresses, bindings, ports and leadership", async () => {
    await answer("unit-get", '"10.1.2.3"\n');
    await answer("network-get", '{"bind-addresses": [{"interface-name": "eth0"}]}');
    await answer("opened-ports", '["80/tcp", "10000/tcp"]');
    await answer("is-leader", "true\n");
    expect(await tools.unitGet("public-address")).toBe("10.1.2.3");
    expect(await tools.networkGet("public")).toEqual({
      "bind-addresses": [{ "interface-name": "eth0" }],
    });
    expect(await tools.openedPorts()).toEqual(["80/tcp", "10000/tcp"]);
    expect(await tools.isLeader()).toBe(true);
    await answer("is-leader", "false");
    expect(await tools.isLeader()).toBe(false);
    expect(await recordedArgv()).toEqual([
      ["unit-get", "--format=json", "public-address"],
      ["network-get", "--format=json", "public"],
      ["opened-ports", "--format=json"],
      ["is-leader", "--format=json"],
      ["is-leader", "--format=json"],
    ]);
  });
});

describe("writing to Juju", () => {
  it("sends settings to relation-set as a YAML map on stdin, multi-line values intact", async () => {
    const services = `${DEFAULT_SERVICES}- service_name: "quoted: value"\n  service_port: 8080\n`;
    const settings = { services, port: "80", hostname: "haproxy-0", ssl_cert: "" };
    await tools.relationSet("website:4", settings);
    const calls = await recordedCalls();
    expect(calls.map((call) => call.argv)).toEqual([
      ["relation-set", "-r", "website:4", "--file", "-"],
    ]);
    // Every value must come back as the same string; "" is how a key is deleted.
    expect(load(calls[0]?.stdin ?? "")).toEqual(settings);
  });

  it("does not call relation-set when there is nothing to set", async () => {
    await tools.relationSet("website:4", {});
    expect(await recordedArgv()).toEqual([]);
    expect(tools.callCount).toBe(0);
  });

  it("opens and closes ports as <port>/<protocol>", async () => {
    await tools.openPort(80);
    await tools.openPort(8125, "udp");
    await tools.closePort(443, "tcp");
    expect(await recordedArgv()).toEqual([
      ["open-port", "80/tcp"],
      ["open-port", "8125/udp"],
      ["close-port", "443/tcp"],
    ]);
  });

  it("passes status and log messages after --, even when they start with a dash", async () => {
    await tools.statusSet("blocked", "-services: port 80 is claimed twice");
    await tools.statusSet("active", "");
    await tools.log("WARNING", "--ignored unit web/3");
    expect(await recordedArgv()).toEqual([
      ["status-set", "blocked", "--", "-services: port 80 is claimed twice"],
      ["status-set", "active", "--", ""],
      ["juju-log", "-l", "WARNING", "--", "--ignored unit web/3"],
    ]);
  });

  it("counts every hook tool call", async () => {
    await answer("is-leader", "true");
    await tools.isLeader();
    await tools.openPort(80);
    await tools.log("INFO", "hello");
    expect(tools.callCount).toBe(3);
  });
});

describe("failures", () => {
  it("turns a failing tool into HookToolError with its command, exit code and stderr", async () => {
    await answer("relation-get", "", 2, 'ERROR invalid value "reverseproxy:99" for option -r\n');
    const error = await tools.relationGet("reverseproxy:99", "web/0").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HookToolError);
    expect(error).toMatchObject({
      command: "relation-get -r reverseproxy:99 --format=json - web/0",
      exitCode: 2,
      stderr: 'ERROR invalid value "reverseproxy:99" for option -r',
    });
    expect(tools.callCount).toBe(1);
  });

  it("reports a tool that is not installed as HookToolError", async () => {
    const bare = new ExecaHookTools({ env: { PATH: toolDir } });
    await rm(join(toolDir, "status-set"));
    try {
      const error = await bare.statusSet("active", "ready").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HookToolError);
      expect((error as HookToolError).command).toBe("status-set active -- ready");
      expect((error as HookToolError).stderr).toMatch(/ENOENT/);
    } finally {
      await writeFile(join(toolDir, "status-set"), `#!${process.execPath}\n${STAND_IN}`);
      await chmod(join(toolDir, "status-set"), 0o755);
    }
  });

  it("rejects output that is not the JSON the tool promises", async () => {
    await answer("config-get", "not json");
    await expect(tools.configGet()).rejects.toThrow(HookToolError);
    await answer("relation-ids", '{"not": "a list"}');
    await expect(tools.relationIds("peer")).rejects.toThrow(/expected a JSON list/);
    await answer("is-leader", '"yes"');
    await expect(tools.isLeader()).rejects.toThrow(HookToolError);
  });
});
