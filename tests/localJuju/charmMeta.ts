// Reads what a packed charm declares: metadata.yaml (endpoints), config.yaml
// (options and defaults) and actions.yaml, straight from the `.charm` zip.

import { execFileSync } from "node:child_process";
import yaml from "js-yaml";
import type { ActionSpec, CharmMeta, EndpointSpec, OptionSpec, OptionType, Role } from "./state.js";

export function readCharmMeta(charmFile: string): CharmMeta {
  const files = execFileSync("unzip", ["-Z1", charmFile], { encoding: "utf8" }).split("\n");
  const read = (name: string): unknown =>
    files.includes(name)
      ? yaml.load(execFileSync("unzip", ["-p", charmFile, name], { encoding: "utf8" }))
      : undefined;
  for (const required of ["manifest.yaml", "metadata.yaml"]) {
    if (!files.includes(required)) throw new Error(`${charmFile} has no ${required}`);
  }
  const metadata = asRecord(read("metadata.yaml"), "metadata.yaml");
  if (typeof metadata.name !== "string") throw new Error(`${charmFile}: metadata.yaml has no name`);
  return {
    name: metadata.name,
    endpoints: endpointsOf(metadata),
    extraBindings: Object.keys(asRecord(metadata["extra-bindings"] ?? {}, "extra-bindings")),
    options: optionsOf(read("config.yaml")),
    actions: actionsOf(read("actions.yaml")),
  };
}

export function endpointsOf(metadata: Record<string, unknown>): EndpointSpec[] {
  const roles: readonly Role[] = ["provides", "requires", "peers"];
  return roles.flatMap((role) =>
    Object.entries(asRecord(metadata[role] ?? {}, role)).map(([name, spec]) => {
      const fields = typeof spec === "string" ? { interface: spec } : asRecord(spec, name);
      if (typeof fields.interface !== "string")
        throw new Error(`endpoint ${name} has no interface`);
      const scope = fields.scope === "container" ? "container" : "global";
      return { name, interface: fields.interface, role, scope };
    }),
  );
}

function optionsOf(config: unknown): Map<string, OptionSpec> {
  const options = new Map<string, OptionSpec>();
  if (config === undefined || config === null) return options;
  const declared = asRecord(asRecord(config, "config.yaml").options ?? {}, "options");
  const types: readonly OptionType[] = ["string", "int", "float", "boolean", "secret"];
  for (const [name, spec] of Object.entries(declared)) {
    const fields = asRecord(spec, name);
    const type = types.find((candidate) => candidate === fields.type);
    if (type === undefined)
      throw new Error(`config option ${name} has unknown type ${String(fields.type)}`);
    options.set(name, { type, ...("default" in fields && { default: fields.default }) });
  }
  return options;
}

function actionsOf(actions: unknown): Map<string, ActionSpec> {
  const result = new Map<string, ActionSpec>();
  if (actions === undefined || actions === null) return result;
  for (const [name, spec] of Object.entries(asRecord(actions, "actions.yaml"))) {
    const params = asRecord(asRecord(spec ?? {}, name).params ?? {}, `${name}.params`);
    const defaults: Record<string, unknown> = {};
    for (const [param, paramSpec] of Object.entries(params)) {
      const fields = asRecord(paramSpec ?? {}, param);
      if ("default" in fields) defaults[param] = fields.default;
    }
    result.set(name, { defaults });
  }
  return result;
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${what}: expected a map`);
  }
  return value as Record<string, unknown>;
}
