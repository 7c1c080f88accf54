// Command-line parsing with gnuflag's rules, as Juju's hook tools use it:
// `-r 3`, `-r=3`, `--relation 3`, flags anywhere among the arguments, `--`
// ends the flags, a lone `-` is an argument. Any flag not declared fails.

import { usageError } from "./toolError.js";

export interface FlagSpec {
  /** Accepted names without dashes; the first is the key in the result. */
  readonly names: readonly string[];
  readonly takesValue: boolean;
}

export interface ParsedArgs {
  readonly flags: ReadonlyMap<string, string | boolean>;
  readonly positionals: readonly string[];
}

export function parseArgs(args: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const flags = new Map<string, string | boolean>();
  const positionals: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    if (arg === "--") {
      positionals.push(...args.slice(index + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const equals = body.indexOf("=");
    const name = equals === -1 ? body : body.slice(0, equals);
    const spec = specs.find((candidate) => candidate.names.includes(name));
    if (spec === undefined || name === "") {
      throw usageError(`option provided but not defined: ${arg.split("=")[0]}`);
    }
    const key = spec.names[0] ?? name;
    if (!spec.takesValue) {
      const text = equals === -1 ? "true" : body.slice(equals + 1);
      if (text !== "true" && text !== "false") {
        throw usageError(`invalid boolean value ${JSON.stringify(text)} for -${name}`);
      }
      flags.set(key, text === "true");
      continue;
    }
    if (equals !== -1) {
      flags.set(key, body.slice(equals + 1));
      continue;
    }
    const value = args[index + 1];
    if (value === undefined) throw usageError(`flag needs an argument: ${arg}`);
    flags.set(key, value);
    index += 1;
  }
  return { flags, positionals };
}

export function stringFlag(parsed: ParsedArgs, key: string): string | undefined {
  const value = parsed.flags.get(key);
  return typeof value === "string" ? value : undefined;
}

export function boolFlag(parsed: ParsedArgs, key: string): boolean {
  return parsed.flags.get(key) === true;
}

export function noMoreArgs(parsed: ParsedArgs, from: number): void {
  const extra = parsed.positionals.slice(from);
  if (extra.length > 0) throw usageError(`unrecognized args: ${JSON.stringify(extra)}`);
}
