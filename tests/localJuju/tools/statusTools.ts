// status-set, status-get and juju-log.

import type { WorkloadStatusName } from "../state.js";
import { boolFlag, noMoreArgs, parseArgs, stringFlag } from "./flags.js";
import type { HookTool } from "./hookTool.js";
import { printed } from "./hookTool.js";
import { formatFlag, formatValue, outputFormat } from "./output.js";
import { ToolError, usageError } from "./toolError.js";

const settable: readonly WorkloadStatusName[] = ["maintenance", "blocked", "waiting", "active"];

export const statusSet: HookTool = (context, args) => {
  const parsed = parseArgs(args, [{ names: ["application"], takesValue: false }]);
  const [status, message = ""] = parsed.positionals;
  noMoreArgs(parsed, 2);
  if (status === undefined) throw usageError("invalid args, require <status> [message] [data]");
  const name = settable.find((candidate) => candidate === status);
  if (name === undefined) {
    throw usageError(`invalid status "${status}", expected one of [${settable.join(" ")}]`);
  }
  if (boolFlag(parsed, "application")) {
    if (!context.unit.leader) throw new ToolError("this unit is not the leader");
    context.setAppStatus({ status: name, message });
  } else {
    context.setStatus({ status: name, message });
  }
  return printed("");
};

export const statusGet: HookTool = (context, args) => {
  const parsed = parseArgs(args, [
    formatFlag,
    { names: ["include-data"], takesValue: false },
    { names: ["application"], takesValue: false },
  ]);
  const format = outputFormat(parsed);
  noMoreArgs(parsed, 0);
  const includeData = boolFlag(parsed, "include-data");
  const details = (status: { status: string; message: string }): Record<string, unknown> =>
    includeData
      ? { message: status.message, status: status.status, "status-data": {} }
      : { status: status.status };
  if (boolFlag(parsed, "application")) {
    if (!context.unit.leader) {
      throw new ToolError("finding application status: this unit is not the leader");
    }
    const appStatus = context.applicationStatus;
    if (!includeData && format === "smart") return printed(formatValue(appStatus.status, format));
    const units = Object.fromEntries(
      context.app.units.map((unit) => [unit.name, details(unit.workload)]),
    );
    return printed(formatValue({ "application-status": { ...details(appStatus), units } }, format));
  }
  const status = context.workloadStatus;
  if (!includeData && format === "smart") return printed(formatValue(status.status, format));
  return printed(formatValue(details(status), format));
};

const logLevels = ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

export const jujuLog: HookTool = (context, args) => {
  const parsed = parseArgs(args, [
    { names: ["debug"], takesValue: false },
    { names: ["l", "log-level"], takesValue: true },
    formatFlag,
  ]);
  if (parsed.positionals.length === 0) throw usageError("no message specified");
  const requested = (stringFlag(parsed, "l") ?? "INFO").toUpperCase();
  // Juju logs an unknown level at INFO with a warning rather than failing.
  const level = boolFlag(parsed, "debug")
    ? "DEBUG"
    : logLevels.includes(requested)
      ? requested
      : "INFO";
  if (!logLevels.includes(requested)) {
    context.log("WARNING", `Specified log level of "${requested}" is not valid`);
  }
  const prefix =
    context.event.relationId === undefined
      ? ""
      : `${context.relationKey(context.relation(undefined))}: `;
  context.log(level, `${prefix}${parsed.positionals.join(" ")}`);
  return printed("");
};
