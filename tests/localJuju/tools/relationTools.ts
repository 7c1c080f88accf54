// relation-ids, relation-list, relation-get and relation-set, with the
// defaults, errors and output of Juju's jujuc.

import yaml from "js-yaml";
import type { HookContext } from "../hookContext.js";
import type { Relation, Settings } from "../state.js";
import { appOfUnit, localSide, remoteSide } from "../state.js";
import type { FlagSpec } from "./flags.js";
import { boolFlag, noMoreArgs, parseArgs, stringFlag } from "./flags.js";
import type { HookTool } from "./hookTool.js";
import { printed } from "./hookTool.js";
import { parseKeyValues } from "./keyValues.js";
import { formatFlag, formatValue, outputFormat } from "./output.js";
import { ToolError, usageError } from "./toolError.js";

const relationFlag: FlagSpec = { names: ["r", "relation"], takesValue: true };
const appFlag: FlagSpec = { names: ["app"], takesValue: false };
const fileFlag: FlagSpec = { names: ["file"], takesValue: true };

const unitNamePattern = /^[a-z][a-z0-9-]*\/\d+$/;
const appNamePattern = /^[a-z][a-z0-9-]*$/;

export const relationIds: HookTool = (context, args) => {
  const parsed = parseArgs(args, [formatFlag]);
  const format = outputFormat(parsed);
  noMoreArgs(parsed, 1);
  const endpoint = parsed.positionals[0] ?? currentEndpoint(context);
  const ids = [...context.unit.knownRelations]
    .map((id) => context.model.relation(id))
    .filter((relation): relation is Relation => relation !== undefined)
    .filter((relation) => localSide(relation, context.app.name).endpoint.name === endpoint)
    .sort((a, b) => a.id - b.id)
    .map((relation) => context.relationKey(relation));
  return printed(formatValue(ids, format));
};

function currentEndpoint(context: HookContext): string {
  if (context.event.relationId === undefined) throw usageError("no endpoint name specified");
  return localSide(context.relation(undefined), context.app.name).endpoint.name;
}

export const relationList: HookTool = (context, args) => {
  const parsed = parseArgs(args, [relationFlag, formatFlag, appFlag]);
  const format = outputFormat(parsed);
  noMoreArgs(parsed, 0);
  const relation = context.relation(stringFlag(parsed, "r"));
  if (boolFlag(parsed, "app")) {
    return printed(formatValue(remoteSide(relation, context.app.name).app, format));
  }
  const members = [...(context.unit.members.get(relation.id) ?? [])].sort(byUnitNumber);
  return printed(formatValue(members, format));
};

export const relationGet: HookTool = (context, args) => {
  const parsed = parseArgs(args, [relationFlag, formatFlag, appFlag]);
  const format = outputFormat(parsed);
  const relation = context.relation(stringFlag(parsed, "r"));
  const [keyArg, targetArg] = parsed.positionals;
  noMoreArgs(parsed, 2);
  const key = keyArg === undefined || keyArg === "-" ? undefined : keyArg;
  const target = readTarget(context, targetArg, boolFlag(parsed, "app"));
  const settings =
    target.kind === "unit"
      ? unitSettings(context, relation, target.name)
      : appSettings(context, relation, target.name);
  if (key !== undefined) return printed(formatValue(settings.get(key) ?? null, format));
  const sorted = Object.fromEntries([...settings].sort(([a], [b]) => a.localeCompare(b)));
  return printed(formatValue(sorted, format));
};

type ReadTarget = { kind: "unit" | "app"; name: string };

function readTarget(context: HookContext, given: string | undefined, app: boolean): ReadTarget {
  const { remoteUnit, remoteApp } = context.event;
  if (given !== undefined) {
    if (app) {
      if (unitNamePattern.test(given)) return { kind: "app", name: appOfUnit(given) };
      if (appNamePattern.test(given)) return { kind: "app", name: given };
      throw usageError(`invalid application name "${given}"`);
    }
    if (unitNamePattern.test(given)) return { kind: "unit", name: given };
    if (appNamePattern.test(given)) {
      throw usageError(`expected unit name, got application name "${given}"`);
    }
    throw usageError(`invalid unit name "${given}"`);
  }
  if (app) {
    if (remoteApp === undefined) throw usageError("no unit or application specified");
    return { kind: "app", name: remoteApp };
  }
  if (remoteUnit !== undefined) return { kind: "unit", name: remoteUnit };
  if (remoteApp !== undefined) return { kind: "app", name: remoteApp };
  throw usageError("no unit or application specified");
}

function unitSettings(context: HookContext, relation: Relation, unit: string): Settings {
  if (unit === context.unit.name) return context.ownSettings(relation);
  // Settings of departed units stay readable for the lifetime of the relation.
  const settings = relation.unitSettings.get(unit);
  if (settings === undefined) {
    throw new ToolError(
      `cannot read settings for unit "${unit}" in relation "${context.relationKey(relation)}": ` +
        `unit "${unit}": settings not found`,
    );
  }
  return settings;
}

function appSettings(context: HookContext, relation: Relation, app: string): Settings {
  if (app === context.app.name) {
    if (!context.unit.leader) throw new ToolError("permission denied");
    return context.ownAppSettings(relation);
  }
  if (!relation.sides.some((side) => side.app === app)) {
    throw new ToolError(`application "${app}" is not part of relation ${relation.id}`);
  }
  return relation.appSettings.get(app) ?? new Map();
}

export const relationSet: HookTool = (context, args, input) => {
  const parsed = parseArgs(args, [relationFlag, fileFlag, appFlag, formatFlag]);
  const relation = context.relation(stringFlag(parsed, "r"));
  const overrides = parseKeyValues(parsed.positionals);
  const file = stringFlag(parsed, "file");
  const settings = file === undefined ? new Map<string, string>() : settingsFile(input);
  for (const [key, value] of overrides) settings.set(key, value);
  if (boolFlag(parsed, "app")) {
    if (!context.unit.leader) throw new ToolError("cannot write relation settings");
    context.setOwnAppSettings(relation, settings);
  } else {
    context.setOwnSettings(relation, settings);
  }
  const stderr = parsed.flags.has("format")
    ? `--format flag deprecated for command "relation-set"`
    : undefined;
  return { stdout: "", ...(stderr && { stderr }) };
};

/** The YAML map of `--file`, read into strings the way Go's yaml.v2 does. */
function settingsFile(input: string | undefined): Map<string, string> {
  if (input === undefined) throw new ToolError("--file given but its content did not arrive");
  let document: unknown;
  try {
    document = yaml.load(input);
  } catch (error) {
    throw new ToolError(`yaml: ${error instanceof Error ? error.message : String(error)}`);
  }
  const settings = new Map<string, string>();
  if (document === null || document === undefined) return settings;
  if (typeof document !== "object" || Array.isArray(document)) {
    throw new ToolError("yaml: unmarshal errors: settings file is not a map");
  }
  for (const [key, value] of Object.entries(document)) {
    if (value === null) settings.set(key, "");
    else if (typeof value === "object") {
      throw new ToolError(
        `yaml: unmarshal errors: cannot unmarshal a non-scalar into string (${key})`,
      );
    } else settings.set(key, String(value));
  }
  return settings;
}

function byUnitNumber(a: string, b: string): number {
  const [appA = "", numberA = "0"] = a.split("/");
  const [appB = "", numberB = "0"] = b.split("/");
  return appA === appB ? Number(numberA) - Number(numberB) : appA.localeCompare(appB);
}
