// Prometheus and Loki rule files ({"groups": [...]}) as the charm ships them,
// and the topology the cos_agent library adds before publishing them.
import { type JujuTopology, topologyIdentifier, topologyLabels } from "./topology.js";

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

export interface RuleFile {
  readonly groups: readonly RuleGroup[];
}

/** A bundled rule file does not have the shape of a rule file: a build defect. */
export class RuleFileError extends Error {
  override readonly name = "RuleFileError";
  constructor(
    readonly source: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${source}: ${field} ${problem}`);
  }
}

/** Checks a parsed rule file (alerting rules only) and types it. */
export function parseRuleFile(data: unknown, source: string): RuleFile {
  const fail = (field: string, problem: string) => new RuleFileError(source, field, problem);
  if (!isRecord(data) || !Array.isArray(data.groups)) throw fail("groups", "must be a list");
  const groups = data.groups.map((group: unknown, g): RuleGroup => {
    const at = `groups[${g}]`;
    if (!isRecord(group)) throw fail(at, "must be a mapping");
    if (!Array.isArray(group.rules)) throw fail(`${at}.rules`, "must be a list");
    const rules = group.rules.map((rule: unknown, r): AlertRule => {
      const field = `${at}.rules[${r}]`;
      if (!isRecord(rule)) throw fail(field, "must be a mapping");
      const duration = rule.for;
      if (duration !== undefined && typeof duration !== "string") {
        throw fail(`${field}.for`, "must be a duration string");
      }
      const labels = optionalStringMap(rule, "labels", field, fail);
      const annotations = optionalStringMap(rule, "annotations", field, fail);
      return {
        alert: requiredString(rule, "alert", field, fail),
        expr: requiredString(rule, "expr", field, fail),
        ...(duration === undefined ? {} : { for: duration }),
        ...(labels === undefined ? {} : { labels }),
        ...(annotations === undefined ? {} : { annotations }),
      };
    });
    return { name: requiredString(group, "name", at, fail), rules };
  });
  return { groups };
}

/**
 * The rule file as the library publishes it: each group renamed
 * `<identifier>_<group>_rules` (characters outside [a-zA-Z0-9_:] become `_`),
 * each rule given the topology labels it does not set itself. The
 * subordinate then filters each expression on those labels.
 */
export function withTopology(file: RuleFile, topology: JujuTopology): RuleFile {
  const identifier = topologyIdentifier(topology);
  const labels = topologyLabels(topology);
  return {
    groups: file.groups.map((group) => {
      const name = `${identifier}_${group.name}`;
      return {
        name: (name.endsWith("_rules") ? name : `${name}_rules`).replace(/[^a-zA-Z0-9_:]/g, "_"),
        rules: group.rules.map((rule) => {
          const own = rule.labels ?? {};
          const missing = Object.entries(labels).filter(([label]) => !(label in own));
          return { ...rule, labels: { ...own, ...Object.fromEntries(missing) } };
        }),
      };
    }),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

type Fail = (field: string, problem: string) => RuleFileError;

function requiredString(
  record: Record<string, unknown>,
  name: string,
  at: string,
  fail: Fail,
): string {
  const value = record[name];
  if (typeof value !== "string" || value === "")
    throw fail(`${at}.${name}`, "must be a non-empty string");
  return value;
}

function optionalStringMap(
  record: Record<string, unknown>,
  name: string,
  at: string,
  fail: Fail,
): Record<string, string> | undefined {
  const value = record[name];
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw fail(`${at}.${name}`, "must map names to strings");
  const entries = Object.entries(value).map(([key, item]) => {
    if (typeof item !== "string") throw fail(`${at}.${name}.${key}`, "must be a string");
    return [key, item] as const;
  });
  return Object.fromEntries(entries);
}
