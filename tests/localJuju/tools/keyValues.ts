// `key=value` arguments as Juju's keyvalues.Parse reads them: split at the
// first `=`, no duplicates, an empty value allowed (it deletes the key).

import { ToolError } from "./toolError.js";

export function parseKeyValues(args: readonly string[]): Map<string, string> {
  const settings = new Map<string, string>();
  for (const arg of args) {
    const equals = arg.indexOf("=");
    if (equals <= 0) throw new ToolError(`expected "key=value", got "${arg}"`, 2);
    const key = arg.slice(0, equals);
    if (settings.has(key)) throw new ToolError(`key "${key}" specified more than once`, 2);
    settings.set(key, arg.slice(equals + 1));
  }
  return settings;
}
