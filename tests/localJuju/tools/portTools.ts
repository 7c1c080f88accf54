// open-port, close-port and opened-ports. Changes count only when the hook
// succeeds, like every other change a hook makes.

import { noMoreArgs, parseArgs } from "./flags.js";
import type { HookTool } from "./hookTool.js";
import { printed } from "./hookTool.js";
import { formatFlag, formatValue, outputFormat } from "./output.js";
import { usageError } from "./toolError.js";

const endpointsFlag = { names: ["endpoints"], takesValue: true };

/** `80`, `80/tcp`, `8000-8080/udp` or `icmp`, normalised to Juju's `80/tcp` form. */
export function normalisePort(text: string): string {
  if (text === "icmp") return text;
  const match = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/.exec(text);
  const from = Number(match?.[1]);
  const to = match?.[2] === undefined ? from : Number(match[2]);
  const valid = (port: number): boolean => Number.isInteger(port) && port >= 1 && port <= 65535;
  if (match === null || !valid(from) || !valid(to) || to < from) {
    throw usageError(
      `invalid port "${text}": expected <port>[/<protocol>] or <from>-<to>[/<protocol>]`,
    );
  }
  const protocol = match[3] ?? "tcp";
  return from === to ? `${from}/${protocol}` : `${from}-${to}/${protocol}`;
}

function portChange(open: boolean): HookTool {
  return (context, args) => {
    const parsed = parseArgs(args, [endpointsFlag, formatFlag]);
    noMoreArgs(parsed, 1);
    const text = parsed.positionals[0];
    if (text === undefined) throw usageError("no port or range specified");
    const port = normalisePort(text);
    if (open) context.openedPorts.add(port);
    else context.openedPorts.delete(port);
    return printed("");
  };
}

export const openPort = portChange(true);
export const closePort = portChange(false);

export const openedPorts: HookTool = (context, args) => {
  const parsed = parseArgs(args, [formatFlag, { names: ["endpoints"], takesValue: false }]);
  const format = outputFormat(parsed);
  noMoreArgs(parsed, 0);
  const ports = [...context.openedPorts].sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  return printed(formatValue(ports, format));
};
