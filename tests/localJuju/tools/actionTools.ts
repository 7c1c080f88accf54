// action-get, action-set, action-fail and action-log: only inside an action.

import type { HookContext } from "../hookContext.js";
import { noMoreArgs, parseArgs } from "./flags.js";
import type { HookTool } from "./hookTool.js";
import { printed } from "./hookTool.js";
import { parseKeyValues } from "./keyValues.js";
import { formatFlag, formatValue, outputFormat } from "./output.js";
import { ToolError, usageError } from "./toolError.js";

const reservedKeys = ["stdout", "stdout-encoding", "stderr", "stderr-encoding"];

function requireAction(context: HookContext): Readonly<Record<string, unknown>> {
  const action = context.event.action;
  if (action === undefined) throw new ToolError("not running an action");
  return action.params;
}

export const actionGet: HookTool = (context, args) => {
  const params = requireAction(context);
  const parsed = parseArgs(args, [formatFlag]);
  const format = outputFormat(parsed);
  noMoreArgs(parsed, 1);
  const path = parsed.positionals[0];
  if (path === undefined) return printed(formatValue(params, format));
  let value: unknown = params;
  for (const key of path.split(".")) {
    value =
      typeof value === "object" && value !== null
        ? (value as Record<string, unknown>)[key]
        : undefined;
  }
  return printed(formatValue(value ?? null, format));
};

export const actionSet: HookTool = (context, args) => {
  requireAction(context);
  const parsed = parseArgs(args, []);
  if (parsed.positionals.length === 0) throw usageError("no key=value pairs specified");
  for (const [path, value] of parseKeyValues(parsed.positionals)) {
    const keys = path.split(".");
    if (keys.some((key) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(key))) {
      throw usageError(
        `key "${path}" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods`,
      );
    }
    if (reservedKeys.includes(keys[0] ?? ""))
      throw usageError(`cannot set reserved action key "${path}"`);
    let target = context.actionResults;
    for (const key of keys.slice(0, -1)) {
      const next = target[key];
      if (typeof next === "object" && next !== null) target = next as Record<string, unknown>;
      else target = target[key] = {};
    }
    target[keys[keys.length - 1] ?? path] = value;
  }
  return printed("");
};

export const actionFail: HookTool = (context, args) => {
  requireAction(context);
  const parsed = parseArgs(args, []);
  noMoreArgs(parsed, 1);
  context.actionFailure = parsed.positionals[0] ?? "action failed without reason given";
  return printed("");
};

export const actionLog: HookTool = (context, args) => {
  requireAction(context);
  const parsed = parseArgs(args, []);
  if (parsed.positionals.length === 0) throw usageError("no message specified");
  context.log("INFO", `action: ${parsed.positionals.join(" ")}`);
  return printed("");
};
