// The metrics schedule: config-changed installs a cron job and its settings,
// the job's own command line (run here as cron would) sends haproxy's
// statistics to a real UDP receiver, and turning metrics off or giving an
// invalid target removes it without ever failing the hook.
import { execFile } from "node:child_process";
import { access, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { cronQuote, cronTimes, metricsCronFile } from "../../src/metrics/metricsSchedule.js";
import { stateFilePath } from "../../src/stateFiles.js";
import { type PackedCharm, packCharm } from "../e2e/packedCharm.js";
import { type UdpReceiver, startUdpReceiver } from "../helpers/udpReceiver.js";
import { type CharmUnit, startCharmUnit } from "../helpers/charmUnit.js";

const run = promisify(execFile);
const bundle = path.resolve(import.meta.dirname, "../../dist/haproxy-charm.mjs");

describe("cronTimes", () => {
  it.each([
    [1, "* * * * *"],
    [5, "*/5 * * * *"],
    [59, "*/59 * * * *"],
    [60, "0 * * * *"],
    [120, "0 */2 * * *"],
    [480, "0 */8 * * *"],
    [1440, "0 0 * * *"],
  ])("runs every %i minutes as %s", (minutes, times) => {
    expect(cronTimes(minutes)).toBe(times);
  });

  it.each([0, -5, 90, 300, 2880])("has no schedule for %i minutes", (minutes) => {
    expect(cronTimes(minutes)).toBeUndefined();
  });
});

describe("metricsCronFile", () => {
  it("runs the bundled CLI as root with absolute paths, a time limit and no secret", () => {
    const file = metricsCronFile(
      5,
      { node: "/usr/bin/node", script: "/var/lib/juju/agents/unit-haproxy-0/charm/dist/x.mjs" },
      "/var/lib/haproxy-charm/metrics.json",
    );
    expect(file.split("\n")).toContain(
      "*/5 * * * * root timeout 295 /usr/bin/node /var/lib/juju/agents/unit-haproxy-0/charm/dist/x.mjs " +
        "metrics push --settings /var/lib/haproxy-charm/metrics.json 2>&1 | logger -t haproxy-charm-metrics",
    );
    expect(file.endsWith("\n")).toBe(true);
  });

  it.each([
    ["/plain/path", "/plain/path"],
    ["/with space", "'/with space'"],
    ["/it's", "'/it'\\''s'"],
    ["/100%", "'/100\\%'"],
  ])("quotes %s for cron's shell as %s", (text, quoted) => {
    expect(cronQuote(text)).toBe(quoted);
  });
});

describe("the metrics schedule on a unit", () => {
  let charm: PackedCharm;
  let unit: CharmUnit;
  let receiver: UdpReceiver;

  beforeAll(async () => {
    charm = packCharm(); // brings dist/ up to date with the sources
    receiver = await startUdpReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    charm?.cleanup();
  });
  beforeEach(async () => {
    unit = await startCharmUnit({ cli: { node: process.execPath, script: bundle } });
  });
  afterEach(async () => {
    await unit.cleanup();
  });

  const cronFile = () => unit.paths.system.metricsSchedule;
  const settingsFile = () => stateFilePath(unit.paths.charmState, "metricsSettings");
  const exists = (file: string) =>
    access(file).then(
      () => true,
      () => false,
    );

  it("installs the job on config-changed and the job sends every server's statistics", async () => {
    unit.tools.config = {
      ...unit.tools.config,
      metrics_target: `127.0.0.1:${receiver.port}`,
      metrics_prefix: "prod.$UNIT.lb",
      metrics_sample_interval: 2,
    };
    await unit.hook("config-changed");
    expect(unit.tools.status).toEqual({ status: "active", message: "Unit is ready" });

    const cron = await readFile(cronFile(), "utf8");
    const line = cron.split("\n").find((entry) => entry.startsWith("*/2 * * * * root "));
    expect(line).toBeDefined();
    // Run the job's command exactly as cron would, minus the syslog pipe.
    const command = (line ?? "").replace(/^\*\/2 \* \* \* \* root /, "").replace(/ 2>&1 \|.*$/, "");
    const { stdout } = await run("/bin/sh", ["-c", command]);
    expect(stdout).toMatch(/^sent \d+ gauges to 127\.0\.0\.1:\d+/);

    const sent = Number(/sent (\d+)/.exec(stdout)?.[1]);
    await receiver.waitForLines(sent);
    const names = [...receiver.gauges().keys()];
    expect(names).toContain(`prod.haproxy-0.lb.haproxy-0-${unit.frontendPort}.FRONTEND.stot.2min`);
    for (const backend of unit.backends) {
      const server = `${backend.name.replace("/", "-")}-${backend.port}`;
      expect(names).toContain(`prod.haproxy-0.lb.web.${server}.scur.2min`);
    }
  });

  it("keeps the monitoring password out of the job, its settings and the log", async () => {
    unit.tools.config = {
      ...unit.tools.config,
      metrics_target: `127.0.0.1:${receiver.port}`,
      monitoring_password: "s3cret-Pa55",
    };
    await unit.hook("config-changed");
    expect(await readFile(cronFile(), "utf8")).not.toContain("s3cret-Pa55");
    expect(await readFile(settingsFile(), "utf8")).not.toContain("s3cret-Pa55");
    expect(JSON.stringify(unit.tools.logs)).not.toContain("s3cret-Pa55");
  });

  it.each([
    ["metrics_target is emptied", { metrics_target: "" }, undefined],
    ["monitoring is turned off", { enable_monitoring: false }, /need enable_monitoring/],
    ["the target is invalid", { metrics_target: "statsd" }, /not host:port/],
    ["the interval has no cron form", { metrics_sample_interval: 90 }, /metrics_sample_interval/],
  ])("removes the job when %s, and the hook still succeeds", async (_, change, warning) => {
    unit.tools.config = { ...unit.tools.config, metrics_target: `127.0.0.1:${receiver.port}` };
    await unit.hook("config-changed");
    expect(await exists(cronFile())).toBe(true);

    unit.tools.config = { ...unit.tools.config, ...change };
    await unit.hook("config-changed");
    expect(await exists(cronFile())).toBe(false);
    expect(await exists(settingsFile())).toBe(false);
    expect(unit.tools.status?.status).toBe("active");
    const warnings = unit.tools.logs.filter((entry) => entry.level === "WARNING");
    if (warning) expect(warnings.map((entry) => entry.message).join("\n")).toMatch(warning);
  });

  it("installs the job for a target that does not resolve: the hook never looks it up", async () => {
    unit.tools.config = { ...unit.tools.config, metrics_target: "statsd.invalid:8125" };
    await unit.hook("config-changed");
    expect(await exists(cronFile())).toBe(true);
    expect(unit.tools.status?.status).toBe("active");
    // The job itself fails quickly and says why.
    const result = await run(process.execPath, [
      bundle,
      "metrics",
      "push",
      "--settings",
      settingsFile(),
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 1, stderr: expect.stringContaining("statsd.invalid") });
  });

  it("replaces the old charm's cron job", async () => {
    const legacy = path.join(path.dirname(cronFile()), "haproxy_metrics");
    await import("node:fs/promises").then((fs) =>
      fs.mkdir(path.dirname(legacy), { recursive: true }),
    );
    await writeFile(legacy, "*/5 * * * * root /usr/local/bin/haproxy_to_statsd.sh ...\n");
    unit.tools.config = { ...unit.tools.config, metrics_target: `127.0.0.1:${receiver.port}` };
    await unit.hook("config-changed");
    expect(await exists(legacy)).toBe(false);
    expect(await exists(cronFile())).toBe(true);
  });

  it("removes the job when the unit is removed", async () => {
    unit.tools.config = { ...unit.tools.config, metrics_target: `127.0.0.1:${receiver.port}` };
    await unit.hook("config-changed");
    await unit.hook("remove");
    expect(await exists(cronFile())).toBe(false);
    expect(await exists(settingsFile())).toBe(false);
  });

  it("says metrics are off when the job runs after they were turned off", async () => {
    const { stdout } = await run(process.execPath, [
      bundle,
      "metrics",
      "push",
      "--settings",
      settingsFile(),
    ]);
    expect(stdout).toContain("metrics are off");
  });
});
