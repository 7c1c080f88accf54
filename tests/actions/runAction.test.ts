// The operator actions against a unit with a real haproxy: what each one
// returns, and how each one fails.
import { appendFile, readFile } from "node:fs/promises";

import { load } from "js-yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type ActionDeps, runAction } from "../../src/actions/runAction.js";
import { type CharmUnit, startCharmUnit } from "../helpers/charmUnit.js";

let unit: CharmUnit;
let printed: string;

beforeEach(async () => {
  unit = await startCharmUnit({ backends: 2 });
  printed = "";
});
afterEach(async () => {
  await unit.cleanup();
});

function action(name: string): Promise<void> {
  const deps: ActionDeps = {
    tools: unit.tools,
    paths: unit.paths,
    service: unit.haproxy,
    haproxyBinary: "haproxy",
    print: (text) => (printed += text),
  };
  return runAction(deps, name);
}

describe("show-config", () => {
  it("prints the live haproxy.cfg with its passwords redacted", async () => {
    await unit.configure({ monitoring_password: "Pa55-word", monitoring_prometheus: true });
    await action("show-config");
    const live = await readFile(unit.paths.haproxyConfig, "utf8");
    expect(live).toContain("Pa55-word");
    expect(printed).not.toContain("Pa55-word");
    expect(printed).toContain("stats auth haproxy:<redacted: juju run <unit> show-password>");
    expect(printed).toContain("insecure-password <redacted");
    const redacted = "<redacted: juju run <unit> show-password>";
    expect(printed.replaceAll(redacted, "")).toBe(live.replaceAll("Pa55-word", ""));
    expect(unit.tools.actionResults).toEqual({
      path: unit.paths.haproxyConfig,
      lines: String(live.trimEnd().split("\n").length),
    });
    expect(unit.tools.actionFailure).toBeUndefined();
  });

  it("fails before the charm has configured haproxy", async () => {
    await action("show-config");
    expect(unit.tools.actionFailure).toMatch(/does not exist yet/);
  });
});

describe("backend-status", () => {
  it("reports each backend server's state from the live statistics", async () => {
    await unit.configure();
    await unit.backends[1]?.close();
    const downServer = `web-1-${unit.backends[1]?.port}`;
    const deadline = Date.now() + 8000;
    do {
      unit.tools.actionResults = {};
      printed = "";
      await action("backend-status");
    } while (unit.tools.actionResults["servers-down"] !== "1" && Date.now() < deadline);

    expect(unit.tools.actionResults).toMatchObject({
      "servers-up": "1",
      "servers-down": "1",
      "servers-other": "0",
    });
    const report = load(unit.tools.actionResults.backends ?? "") as Record<
      string,
      { status: string; servers: Record<string, { status: string; check: string }> }
    >;
    expect(report.web?.status).toBe("UP");
    expect(report.web?.servers[`web-0-${unit.backends[0]?.port}`]).toMatchObject({
      status: "UP",
      check: "L4OK",
    });
    expect(report.web?.servers[downServer]).toMatchObject({ status: "DOWN", check: "L4CON" });
    expect(load(printed)).toEqual(report);
  });

  it("fails when haproxy is not running", async () => {
    await action("backend-status");
    expect(unit.tools.actionFailure).toMatch(/no such socket/);
  });
});

describe("reload", () => {
  it("reloads haproxy after checking the live configuration", async () => {
    await unit.configure();
    const reloads = unit.haproxy.reloads;
    await action("reload");
    expect(unit.tools.actionResults).toEqual({ result: "reloaded" });
    expect(unit.haproxy.reloads).toBe(reloads + 1);
  });

  it("starts a stopped haproxy", async () => {
    await unit.configure();
    await unit.haproxy.stop();
    await action("reload");
    expect(unit.tools.actionResults).toEqual({ result: "started" });
    expect(await unit.haproxy.isRunning()).toBe(true);
  });

  it("refuses a configuration haproxy rejects and leaves haproxy alone", async () => {
    await unit.configure();
    await appendFile(unit.paths.haproxyConfig, "\nfrontend broken\n    no-such-keyword\n");
    const reloads = unit.haproxy.reloads;
    await action("reload");
    expect(unit.tools.actionFailure).toMatch(/^not reloaded: haproxy rejected/);
    expect(unit.haproxy.reloads).toBe(reloads);
    expect(await unit.haproxy.isRunning()).toBe(true);
  });

  it("fails with haproxy's reason when haproxy cannot load the file, which `haproxy -c` passed", async () => {
    await unit.configure();
    // 192.0.2.1 (TEST-NET-1) is no address of this machine.
    await appendFile(unit.paths.haproxyConfig, "\nfrontend elsewhere\n    bind 192.0.2.1:8080\n");
    const reloads = unit.haproxy.reloads;
    await action("reload");
    expect(unit.tools.actionResults).toEqual({});
    expect(unit.tools.actionFailure).toMatch(
      /^not reloaded: .*cannot bind socket .*\[192\.0\.2\.1:8080\]/,
    );
    expect(unit.haproxy.reloads).toBe(reloads + 1);
    expect(await unit.haproxy.isRunning()).toBe(true);
  });
});

describe("show-password", () => {
  it("prints the generated password, the one the statistics page takes", async () => {
    await unit.configure();
    await action("show-password");
    const live = await readFile(unit.paths.haproxyConfig, "utf8");
    const password = /stats auth haproxy:(\S+)/.exec(live)?.[1];
    expect(printed).toBe(`${password}\n`);
    expect(unit.tools.actionResults).toMatchObject({
      username: "haproxy",
      port: String(unit.monitoringPort),
    });
    expect(JSON.stringify(unit.tools.actionResults)).not.toContain(password);
  });

  it("prints a configured password as it is", async () => {
    await unit.configure({ monitoring_password: "Pa55-word" });
    await action("show-password");
    expect(printed).toBe("Pa55-word\n");
  });

  it("fails when monitoring is off", async () => {
    await unit.configure({ enable_monitoring: false });
    await action("show-password");
    expect(unit.tools.actionFailure).toMatch(/enable_monitoring is false/);
    expect(printed).toBe("");
  });
});

it("fails an action the charm does not have, naming those it has", async () => {
  await action("restart-everything");
  expect(unit.tools.actionFailure).toMatch(/unknown action restart-everything.*show-config/);
});
