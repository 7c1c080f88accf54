// `juju run haproxy/0 <action>` reaches the charm as dispatch with
// JUJU_DISPATCH_PATH=actions/<name>: dispatch hands it to the CLI's `action`
// command, and the bundled CLI answers through action-set and stdout.
import { spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type PackedCharm, packCharm } from "../e2e/packedCharm.js";

const CHARM_DIR = path.resolve(import.meta.dirname, "../..");
const BUNDLE = path.join(CHARM_DIR, "dist", "haproxy-charm.mjs");

let sandbox: string;
let bin: string;

async function script(name: string, body: string): Promise<void> {
  await writeFile(path.join(bin, name), `#!/bin/sh\n${body}`);
  await chmod(path.join(bin, name), 0o755);
}

/** The arguments each stand-in tool was called with, one call per line. */
async function calls(tool: string): Promise<string[]> {
  const text = await readFile(path.join(sandbox, `${tool}.calls`), "utf8").catch(() => "");
  return text.split("\n").filter((line) => line !== "");
}

beforeEach(async () => {
  sandbox = await mkdtemp(path.join(tmpdir(), "charm-actions-"));
  bin = path.join(sandbox, "bin");
  await mkdir(bin);
});
afterEach(async () => {
  await rm(sandbox, { recursive: true, force: true });
});

describe("dispatch", () => {
  it("hands actions/<name> to the CLI's action command", async () => {
    await script("node", `printf '%s\\n' "$@" > '${sandbox}/node.calls'\n`);
    const result = spawnSync(path.join(CHARM_DIR, "dispatch"), [], {
      cwd: CHARM_DIR,
      env: {
        PATH: `${bin}:${process.env.PATH ?? ""}`,
        JUJU_DISPATCH_PATH: "actions/backend-status",
        JUJU_CHARM_DIR: CHARM_DIR,
      },
      encoding: "utf8",
    });
    expect(result).toMatchObject({ status: 0, stderr: "" });
    expect(await calls("node")).toEqual([BUNDLE, "action", "backend-status"]);
  });
});

describe("the bundled CLI's action command", () => {
  let charm: PackedCharm;
  beforeAll(() => {
    charm = packCharm(); // brings dist/ up to date with the sources
  });
  afterAll(() => charm?.cleanup());

  function runAction(name: string) {
    return spawnSync(process.execPath, [BUNDLE, "action", name], {
      env: { PATH: `${bin}:${process.env.PATH ?? ""}`, JUJU_UNIT_NAME: "haproxy/0" },
      encoding: "utf8",
    });
  }

  beforeEach(async () => {
    for (const tool of ["action-set", "action-fail"]) {
      await script(tool, `printf '%s\\n' "$*" >> '${sandbox}/${tool}.calls'\n`);
    }
  });

  it("show-password prints the password and never passes it to a hook tool", async () => {
    await script(
      "config-get",
      `echo '{"enable_monitoring": true, "monitoring_password": "Pa55-word", "monitoring_port": 10000}'\n`,
    );
    const result = runAction("show-password");
    expect(result).toMatchObject({ status: 0, stdout: "Pa55-word\n" });
    const [set] = await calls("action-set");
    expect(set).toMatch(/^username=haproxy port=10000 password=printed on stdout/);
    expect(set).not.toContain("Pa55-word");
    expect(await calls("action-fail")).toEqual([]);
  });

  it("fails an unknown action through action-fail", async () => {
    const result = runAction("make-coffee");
    expect(result.status).toBe(0);
    expect(await calls("action-fail")).toEqual([
      expect.stringMatching(/^-- unknown action make-coffee/),
    ]);
  });
});
