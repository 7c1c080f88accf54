// leader-get and leader-set: the application's leader settings.

import { noMoreArgs, parseArgs } from "./flags.js";
import type { HookTool } from "./hookTool.js";
import { printed } from "./hookTool.js";
import { parseKeyValues } from "./keyValues.js";
import { formatFlag, formatValue, outputFormat } from "./output.js";
import { ToolError } from "./toolError.js";

export const leaderGet: HookTool = (context, args) => {
  const parsed = parseArgs(args, [formatFlag]);
  const format = outputFormat(parsed);
  noMoreArgs(parsed, 1);
  const key = parsed.positionals[0];
  const settings = context.leaderData;
  if (key !== undefined && key !== "-")
    return printed(formatValue(settings.get(key) ?? null, format));
  return printed(formatValue(Object.fromEntries(settings), format));
};

export const leaderSet: HookTool = (context, args) => {
  const parsed = parseArgs(args, []);
  if (!context.unit.leader) throw new ToolError("cannot write settings: not the leader");
  context.setLeaderData(parseKeyValues(parsed.positionals));
  return printed("");
};
