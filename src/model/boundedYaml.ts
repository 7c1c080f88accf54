// js-yaml resolves an alias to the very object its anchor names, so a few
// hundred bytes of YAML can stand for a cycle or for billions of values
// ("billion laughs"). Untrusted documents are walked once, with a budget,
// before anything else (error messages included) looks at them.
import yaml from "js-yaml";

import { InvalidField } from "./fieldChecks.js";

/** Values a document may expand to, counting every use of an alias. */
export const MAX_YAML_VALUES = 100_000;
/** Characters of text (keys and strings) a document may expand to, likewise. */
export const MAX_YAML_TEXT = 1024 * 1024;

/** Parses `text`; InvalidField when it is not YAML, refers to itself or expands beyond the limits. */
export function loadBoundedYaml(text: string, field: string): unknown {
  let document: unknown;
  try {
    document = yaml.load(text);
  } catch (error) {
    const reason = error instanceof yaml.YAMLException ? error.reason : String(error);
    throw new InvalidField(field, `not valid YAML (${reason})`);
  }
  checkExpansion(document, field);
  return document;
}

function checkExpansion(document: unknown, field: string): void {
  let values = 0;
  let characters = 0;
  const open = new Set<object>();
  const visit = (value: unknown): void => {
    values += 1;
    if (typeof value === "string") characters += value.length;
    if (values > MAX_YAML_VALUES || characters > MAX_YAML_TEXT) {
      throw new InvalidField(field, "expands to too much data through YAML aliases");
    }
    const children = childrenOf(value);
    if (children.length === 0) return;
    if (open.has(value as object))
      throw new InvalidField(field, "YAML aliases refer to themselves");
    open.add(value as object);
    for (const child of children) visit(child);
    open.delete(value as object);
  };
  visit(document);
}

// Only lists and plain mappings hold further values; js-yaml's dates and binary buffers are leaves.
function childrenOf(value: unknown): readonly unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value !== "object" || value === null) return [];
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return [];
  return Object.entries(value).flat();
}
