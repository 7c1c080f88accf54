// The bundled CLI as an operator runs it: `render --from` a snapshot, `--help`.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";
import { type PrivateBundle, buildPrivateBundle } from "../helpers/privateBundle.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const node18 = path.join(repo, "build", "node18", "bin", "node");
const node18Missing = !existsSync(node18);
if (node18Missing) {
  console.warn(
    `SKIPPED: the Node.js 18.19 check: ${node18} is absent (make deps fetches it on x86-64)`,
  );
}

let bundle: PrivateBundle;
beforeAll(async () => {
  bundle = await buildPrivateBundle();
}, 60_000);
afterAll(() => bundle?.cleanup());

const run = (args: string[], env: Record<string, string> = {}) =>
  execa("node", [bundle.cli, ...args], { reject: false, env, extendEnv: true });

describe("haproxy-charm CLI", () => {
  it("render --from prints the golden configuration, which haproxy accepts", async () => {
    const result = await run([
      "render",
      "--from",
      path.join(repo, "tests/golden/relation-driven.json"),
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout + "\n").toBe(
      await readFile(path.join(repo, "tests/golden/relation-driven.cfg"), "utf8"),
    );
    expect((await checkHaproxyConfig(result.stdout + "\n")).ok).toBe(true);
  });

  it("render --from explains a bad snapshot and exits non-zero", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "cli-"));
    try {
      const file = path.join(dir, "bad.json");
      await writeFile(file, JSON.stringify({ config: { services: "- service_name: a/b" } }));
      const result = await run(["render", "--from", file]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain("config option services: services[0].service_name");
      expect(result.stdout).toBe("");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Ubuntu 24.04 ships Node.js 18.19: the bundle must run there, alone (the
  // private bundle's directory has no node_modules in it or above it).
  it.skipIf(node18Missing)("runs on Node.js 18.19 with no node_modules", async () => {
    const result = await execa(node18, [
      bundle.cli,
      "render",
      "--from",
      path.join(repo, "tests/golden/quickstart.json"),
    ]);
    expect(result.stdout + "\n").toBe(
      await readFile(path.join(repo, "tests/golden/quickstart.cfg"), "utf8"),
    );
    expect((await execa(node18, ["--version"])).stdout).toBe("v18.19.1");
  });

  it("--help explains both commands", async () => {
    const result = await run(["--help"]);
    expect(result.stdout).toMatch(/hook <name>\s+Handle one Juju event/);
    expect(result.stdout).toMatch(/render \[options\]\s+Print the haproxy.cfg/);
  });

  it("treats an unknown hook as a logged no-op", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "cli-tools-"));
    try {
      const logFile = path.join(dir, "log");
      await writeFile(path.join(dir, "juju-log"), `#!/bin/sh\necho "$@" >> ${logFile}\n`, {
        mode: 0o755,
      });
      const result = await run(["hook", "not-a-hook"], {
        PATH: `${dir}:${process.env.PATH ?? ""}`,
        JUJU_UNIT_NAME: "haproxy/0",
      });
      expect(result.exitCode).toBe(0);
      expect(await readFile(logFile, "utf8")).toContain("no handler for hook not-a-hook");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
