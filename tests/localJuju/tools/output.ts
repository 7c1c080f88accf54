// Juju's output formats for hook tools: `smart` (the default), `json`, `yaml`.

import yaml from "js-yaml";
import type { FlagSpec, ParsedArgs } from "./flags.js";
import { stringFlag } from "./flags.js";
import { usageError } from "./toolError.js";

export type OutputFormat = "smart" | "json" | "yaml";

export const formatFlag: FlagSpec = { names: ["format"], takesValue: true };
export const outputFlag: FlagSpec = { names: ["o", "output"], takesValue: true };

export function outputFormat(parsed: ParsedArgs): OutputFormat {
  const format = stringFlag(parsed, "format") ?? "smart";
  if (format === "smart" || format === "json" || format === "yaml") return format;
  throw usageError(`invalid value "${format}" for flag --format: unknown format "${format}"`);
}

export function formatValue(value: unknown, format: OutputFormat): string {
  if (format === "json") return `${JSON.stringify(value ?? null)}\n`;
  if (format === "yaml") return value === null || value === undefined ? "" : yaml.dump(value);
  return smart(value);
}

function smart(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return `${value}\n`;
  if (typeof value === "boolean") return value ? "True\n" : "False\n";
  if (typeof value === "number") return `${value}\n`;
  if (Array.isArray(value)) return value.map((item) => `${String(item)}\n`).join("");
  return yaml.dump(value);
}
