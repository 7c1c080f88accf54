// config-get, unit-get, network-get, is-leader and application-version-set.

import type { HookContext } from "../hookContext.js";
import { noMoreArgs, boolFlag, parseArgs, stringFlag } from "./flags.js";
import type { HookTool } from "./hookTool.js";
import { printed } from "./hookTool.js";
import { formatFlag, formatValue, outputFormat } from "./output.js";
import { ToolError, usageError } from "./toolError.js";

export const configGet: HookTool = (context, args) => {
  const parsed = parseArgs(args, [formatFlag, { names: ["a", "all"], takesValue: false }]);
  const format = outputFormat(parsed);
  noMoreArgs(parsed, 1);
  const config = context.model.effectiveConfig(context.app);
  const key = parsed.positionals[0];
  if (key !== undefined) return printed(formatValue(config[key] ?? null, format));
  if (boolFlag(parsed, "a")) {
    const all: Record<string, unknown> = {};
    for (const name of context.app.meta.options.keys()) all[name] = config[name] ?? null;
    return printed(formatValue(all, format));
  }
  return printed(formatValue(config, format));
};

export const unitGet: HookTool = (context, args) => {
  const parsed = parseArgs(args, [formatFlag]);
  const format = outputFormat(parsed);
  noMoreArgs(parsed, 1);
  const setting = parsed.positionals[0];
  if (setting === undefined) throw usageError("no setting specified");
  if (setting !== "private-address" && setting !== "public-address") {
    throw usageError(`unknown setting "${setting}"`);
  }
  return printed(formatValue(context.unit.machine.address, format));
};

const addressFlags = ["primary-address", "bind-address", "ingress-address", "egress-subnets"];

export const networkGet: HookTool = (context, args) => {
  const parsed = parseArgs(args, [
    formatFlag,
    { names: ["r", "relation"], takesValue: true },
    ...addressFlags.map((name) => ({ names: [name], takesValue: false })),
  ]);
  const format = outputFormat(parsed);
  noMoreArgs(parsed, 1);
  const relationFlag = stringFlag(parsed, "r");
  const binding = parsed.positionals[0] ?? bindingOfRelation(context, relationFlag);
  if (relationFlag !== undefined) context.relation(relationFlag);
  const known = [
    ...context.app.meta.endpoints.map((endpoint) => endpoint.name),
    ...context.app.meta.extraBindings,
    "juju-info",
  ];
  if (!known.includes(binding)) {
    throw new ToolError(`no network config found for binding "${binding}"`);
  }
  const address = context.unit.machine.address;
  const selected = addressFlags.filter((name) => boolFlag(parsed, name));
  if (selected.length > 1) throw usageError("only one of the address flags may be given");
  if (selected[0] === "egress-subnets") return printed(formatValue(`${address}/32`, format));
  if (selected[0] !== undefined) return printed(formatValue(address, format));
  const cidr = context.model.subnet;
  return printed(
    formatValue(
      {
        "bind-addresses": [
          {
            "mac-address": "",
            "interface-name": "eth0",
            addresses: [{ hostname: "", value: address, cidr, address }],
            macaddress: "",
            interfacename: "eth0",
          },
        ],
        "egress-subnets": [`${address}/32`],
        "ingress-addresses": [address],
      },
      format,
    ),
  );
};

function bindingOfRelation(context: HookContext, relationFlag: string | undefined): string {
  if (relationFlag === undefined) throw usageError("no arguments specified");
  const relation = context.relation(relationFlag);
  const side = relation.sides.find((candidate) => candidate.app === context.app.name);
  if (side === undefined) throw new ToolError(`relation ${relationFlag} not found`);
  return side.endpoint.name;
}

export const isLeader: HookTool = (context, args) => {
  const parsed = parseArgs(args, [formatFlag]);
  const format = outputFormat(parsed);
  noMoreArgs(parsed, 0);
  return printed(formatValue(context.unit.leader, format));
};

export const applicationVersionSet: HookTool = (context, args) => {
  const parsed = parseArgs(args, []);
  noMoreArgs(parsed, 1);
  const version = parsed.positionals[0];
  if (version === undefined) throw usageError("no version specified");
  context.setVersion(version);
  return printed("");
};
