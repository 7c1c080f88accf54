// The Prometheus rule file checked by Prometheus's own promtool: it loads, and
// its unit tests (alert-rules.test.yaml) show each alert firing on the series
// that should fire it and silent on the others, thresholds included.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { execa } from "execa";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";

const rulesFile = fileURLToPath(
  new URL("../../../src/relations/cosAgent/alert-rules.yaml", import.meta.url),
);
const unitTests = fileURLToPath(new URL("alert-rules.test.yaml", import.meta.url));

describe("alert-rules.yaml", () => {
  it("passes promtool check rules", async () => {
    const result = await execa("promtool", ["check", "rules", rulesFile], { reject: false });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("SUCCESS: 7 rules found");
  });

  it("passes its promtool unit tests", async () => {
    const result = await execa("promtool", ["test", "rules", unitTests], { reject: false });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("SUCCESS");
  });

  // promtool compares the exact list of alerts, so each test's other series show silence.
  it("has a unit test where it fires for every alert", async () => {
    const rules = yaml.load(await readFile(rulesFile, "utf8")) as {
      groups: { rules: { alert: string }[] }[];
    };
    const tests = yaml.load(await readFile(unitTests, "utf8")) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const checks = tests.tests.flatMap((test) => test.alert_rule_test);
    for (const alert of rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert))) {
      const mine = checks.filter((check) => check.alertname === alert);
      expect(
        mine.some((check) => check.exp_alerts.length > 0),
        `${alert} fires`,
      ).toBe(true);
    }
  });
});
