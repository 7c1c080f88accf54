// The rule files as the charm ships them: the Loki file's shape and LogQL (no
// Loki here; haproxy's real ALERT lines are matched in exporterMetrics.test.ts),
// what parseRuleFile accepts and rejects, and the exporter listener's lines.
import { readFile } from "node:fs/promises";

import yaml from "js-yaml";
import { describe, expect, it } from "vitest";

import { bundledAssets } from "../../../src/relations/cosAgent/bundledAssets.js";
import {
  COS_AGENT_EXPORTER_PORT,
  exporterListener,
} from "../../../src/relations/cosAgent/exporterListener.js";
import { RuleFileError, parseRuleFile } from "../../../src/relations/cosAgent/ruleFile.js";

const cosAgentDir = new URL("../../../src/relations/cosAgent/", import.meta.url);

describe("log-alert-rules.yaml", () => {
  it("is a Loki rule file: groups of alerting rules with a LogQL metric query", async () => {
    const file = yaml.load(await readFile(new URL("log-alert-rules.yaml", cosAgentDir), "utf8"));
    const rules = parseRuleFile(file, "log-alert-rules.yaml");
    expect(rules.groups).toHaveLength(1);
    const [rule] = rules.groups[0]?.rules ?? [];
    expect(rule?.labels?.severity).toBe("warning");
    expect(rule?.annotations?.summary).toBeTruthy();
    const expr = rule?.expr ?? "";
    // A stream selector with a matcher, a regex line filter, a range aggregation, a comparison.
    expect(expr).toMatch(/\{\s*[a-z_]+\s*(=|=~|!=|!~)\s*"[^"]*"\s*\}/);
    expect(expr).toMatch(/\|~ `[^`]+`/);
    expect(expr).toMatch(/count_over_time\(.*\[\d+m\]\s*\)/s);
    expect(expr).toMatch(/\) > 0$/);
    expect(balanced(expr), expr).toBe(true);
  });

  it("is what the charm publishes, parsed at build time", async () => {
    const file = yaml.load(await readFile(new URL("log-alert-rules.yaml", cosAgentDir), "utf8"));
    expect(bundledAssets().logAlertRules).toEqual(parseRuleFile(file, "log-alert-rules.yaml"));
  });
});

describe("parseRuleFile", () => {
  const rule = { alert: "A", expr: "up == 0" };
  const rejected: [string, unknown, string][] = [
    ["no groups", {}, "groups"],
    ["groups not a list", { groups: {} }, "groups"],
    ["a group without a name", { groups: [{ rules: [] }] }, "groups[0].name"],
    ["rules not a list", { groups: [{ name: "g", rules: "x" }] }, "groups[0].rules"],
    [
      "a rule without expr",
      { groups: [{ name: "g", rules: [{ alert: "A" }] }] },
      "groups[0].rules[0].expr",
    ],
    [
      "a recording rule",
      { groups: [{ name: "g", rules: [{ record: "r", expr: "up" }] }] },
      "groups[0].rules[0].alert",
    ],
    [
      "a numeric for",
      { groups: [{ name: "g", rules: [{ ...rule, for: 5 }] }] },
      "groups[0].rules[0].for",
    ],
    [
      "a label that is not a string",
      { groups: [{ name: "g", rules: [{ ...rule, labels: { severity: 2 } }] }] },
      "groups[0].rules[0].labels.severity",
    ],
  ];

  it.each(rejected)("rejects %s, naming the field", (_, data, field) => {
    expect(() => parseRuleFile(data, "test.yaml")).toThrow(RuleFileError);
    try {
      parseRuleFile(data, "test.yaml");
    } catch (error) {
      expect(error).toMatchObject({ source: "test.yaml", field });
    }
  });

  it("keeps what an alerting rule may carry", () => {
    const full = {
      ...rule,
      for: "5m",
      labels: { severity: "critical" },
      annotations: { summary: "s" },
    };
    expect(parseRuleFile({ groups: [{ name: "g", rules: [full] }] }, "t")).toEqual({
      groups: [{ name: "g", rules: [full] }],
    });
  });
});

describe("exporterListener", () => {
  it("serves the exporter on loopback port 8404 by default, without credentials or logs", () => {
    expect(COS_AGENT_EXPORTER_PORT).toBe(8404);
    expect(exporterListener()).toEqual({
      name: "cos_agent_metrics",
      bind: "127.0.0.1:8404",
      options: [
        "mode http",
        "no log",
        "http-request use-service prometheus-exporter if { path /metrics }",
      ],
    });
    expect(exporterListener(9100).bind).toBe("127.0.0.1:9100");
  });
});

function balanced(text: string): boolean {
  const closing: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  const open: string[] = [];
  // Strings and raw strings hold no structure.
  for (const char of text.replace(/`[^`]*`|"(?:[^"\\]|\\.)*"/g, '""')) {
    if ("([{".includes(char)) open.push(char);
    else if (char in closing && open.pop() !== closing[char]) return false;
  }
  return open.length === 0;
}
