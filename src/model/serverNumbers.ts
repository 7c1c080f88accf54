// `{i}` in a server's options is its number in its backend: `cookie S{i}`
// pins a client to a server. Numbered by position, a server leaving other
// than the last would renumber those after it: their clients would lose
// their server, and their changed options would force a reload. So a server
// keeps the number the live haproxy.cfg shows it with, and a new one takes
// the lowest free number; from scratch, every server's is its position.
import type { ConfiguredServer } from "./serverDelta.js";
import type { ServerSpec } from "./types.js";

/** Each server's `{i}`, in order; `live` is the backend's servers in the live file. */
export function serverNumbers(
  servers: readonly ServerSpec[],
  live: readonly ConfiguredServer[] = [],
): number[] {
  const liveByName = new Map(live.map((server) => [server.name, server]));
  const taken = new Set<number>();
  const kept = servers.map((server) => {
    const number = renderedNumber(server.options, liveByName.get(server.name));
    if (number === undefined || taken.has(number)) return undefined;
    taken.add(number);
    return number;
  });
  let free = 0;
  return kept.map((number) => {
    if (number !== undefined) return number;
    while (taken.has(free)) free += 1;
    taken.add(free);
    return free;
  });
}

/** The options as the file says them, `{i}` replaced by `number`. */
export function numberedOptions(options: readonly string[], number: number): string {
  return options.join(" ").replaceAll("{i}", String(number));
}

/** The number `live`'s options were rendered with from `options`, if they were. */
function renderedNumber(
  options: readonly string[],
  live: ConfiguredServer | undefined,
): number | undefined {
  const template = options.join(" ").trim().split(/\s+/).join(" ");
  if (live === undefined || !template.includes("{i}")) return undefined;
  const rendered = live.options.join(" ");
  const pattern = template
    .split("{i}")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("(\\d+)");
  const digits = new RegExp(`^${pattern}$`).exec(rendered)?.[1];
  if (digits === undefined) return undefined;
  // Only a number that renders exactly the live text (no leading zeros, every `{i}` alike).
  const number = Number(digits);
  return numberedOptions([template], number) === rendered ? number : undefined;
}
