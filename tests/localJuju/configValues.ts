// `juju config` semantics for option values: strings from the command line
// are converted to the option's type, unknown options and bad values are
// refused, and config-get sees defaults for everything not set.

import type { OptionSpec } from "./state.js";

export function optionValue(name: string, spec: OptionSpec | undefined, value: unknown): unknown {
  if (spec === undefined) throw new Error(`unknown option "${name}"`);
  const text = typeof value === "string" ? value : undefined;
  const refuse = (): never => {
    throw new Error(`option "${name}" expected ${spec.type}, got ${JSON.stringify(value)}`);
  };
  switch (spec.type) {
    case "int": {
      const number = text === undefined ? value : /^-?\d+$/.test(text) ? Number(text) : NaN;
      return typeof number === "number" && Number.isInteger(number) ? number : refuse();
    }
    case "float": {
      const number = text === undefined ? value : text.trim() === "" ? NaN : Number(text);
      return typeof number === "number" && Number.isFinite(number) ? number : refuse();
    }
    case "boolean": {
      if (typeof value === "boolean") return value;
      if (text === "true" || text === "false") return text === "true";
      return refuse();
    }
    default:
      return typeof value === "string" ? value : refuse();
  }
}

/** Every option with a value: set ones, then defaults; options with neither are left out. */
export function effectiveConfig(
  options: ReadonlyMap<string, OptionSpec>,
  values: ReadonlyMap<string, unknown>,
): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const [name, spec] of options) {
    const value = values.has(name) ? values.get(name) : spec.default;
    if (value !== undefined && value !== null) config[name] = value;
  }
  return config;
}
