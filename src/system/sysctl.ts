// `sysctl`: a YAML map of kernel settings, written to a sysctl.d file (so
// they survive a reboot) and applied at once with `sysctl -p`.
import yaml from "js-yaml";

import { ConfigError } from "../lib/errors.js";

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;

/** The sysctl.d file for the option's value, or undefined when it is empty (pure). */
export function sysctlFile(text: string): string | undefined {
  let document: unknown;
  try {
    document = yaml.load(text, { schema: yaml.FAILSAFE_SCHEMA });
  } catch (error) {
    const reason = error instanceof yaml.YAMLException ? error.reason : String(error);
    throw new ConfigError("sysctl", `not valid YAML (${reason})`);
  }
  if (document === undefined || document === null || document === "") return undefined;
  if (typeof document !== "object" || Array.isArray(document)) {
    throw new ConfigError("sysctl", "must be a YAML map of sysctl keys to values");
  }
  const lines = Object.entries(document as Record<string, unknown>).map(([key, value]) => {
    if (!KEY.test(key))
      throw new ConfigError("sysctl", `${JSON.stringify(key)} is not a sysctl key`);
    if (typeof value !== "string" || value.trim() === "" || /[\r\n]/.test(value)) {
      throw new ConfigError("sysctl", `the value of ${key} must be one line of text`);
    }
    return `${key}=${value.trim()}`;
  });
  if (lines.length === 0) return undefined;
  return ["# Written by the haproxy charm from its sysctl option.", ...lines, ""].join("\n");
}
