// A small PromQL tokenizer for tests: which series selectors (metric name and
// label matchers) and which grouping labels an expression uses. It knows just
// enough PromQL to tell a metric name from a function, an aggregation, a
// keyword, a label, a duration, a string or a Grafana variable.

export interface Matcher {
  readonly label: string;
  readonly op: "=" | "!=" | "=~" | "!~";
  readonly value: string;
}

export interface Selector {
  /** Empty for a selector with no name (`{__name__=~"..."}`). */
  readonly metric: string;
  readonly matchers: readonly Matcher[];
}

export interface ParsedExpression {
  readonly selectors: readonly Selector[];
  /** Labels in by, without, on, ignoring, group_left and group_right lists. */
  readonly groupingLabels: readonly string[];
}

const AGGREGATIONS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "group",
  "stddev",
  "stdvar",
  "count",
  "count_values",
  "bottomk",
  "topk",
  "quantile",
  "limitk",
  "limit_ratio",
]);
const LABEL_LISTS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const OPERATORS = new Set(["and", "or", "unless", "bool", "atan2"]);
const IDENTIFIER = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const NUMBER = /0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;

export function parsePromql(expr: string): ParsedExpression {
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  let i = 0;

  const peek = (): string => {
    let j = i;
    while (/\s/.test(expr[j] ?? "")) j++;
    return expr[j] ?? "";
  };
  const skipSpace = () => {
    while (/\s/.test(expr[i] ?? "")) i++;
  };
  const match = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = i;
    const found = pattern.exec(expr);
    if (found === null) return undefined;
    i += found[0].length;
    return found[0];
  };
  const skipString = (): string => {
    const quote = expr[i];
    let value = "";
    i++;
    while (i < expr.length && expr[i] !== quote) {
      if (expr[i] === "\\" && quote !== "`") i++;
      value += expr[i] ?? "";
      i++;
    }
    if (i >= expr.length) throw new Error(`unterminated string in ${expr}`);
    i++;
    return value;
  };
  const skipUntil = (close: string) => {
    const end = expr.indexOf(close, i);
    if (end < 0) throw new Error(`missing ${close} in ${expr}`);
    i = end + 1;
  };
  const labelList = (): string[] => {
    skipSpace();
    if (expr[i] !== "(") return [];
    const start = i + 1;
    skipUntil(")");
    return expr
      .slice(start, i - 1)
      .split(",")
      .map((label) => label.trim())
      .filter((label) => label !== "");
  };
  const matchers = (): Matcher[] => {
    const found: Matcher[] = [];
    i++; // {
    for (;;) {
      skipSpace();
      if (expr[i] === ",") {
        i++;
        continue;
      }
      if (expr[i] === "}") {
        i++;
        return found;
      }
      const label = match(IDENTIFIER);
      skipSpace();
      const op = match(/=~|!~|!=|=/y) as Matcher["op"] | undefined;
      skipSpace();
      if (label === undefined || op === undefined || !/["'`]/.test(expr[i] ?? "")) {
        throw new Error(`cannot read the label matchers at ${expr.slice(i)}`);
      }
      found.push({ label, op, value: skipString() });
    }
  };

  while (i < expr.length) {
    const char = expr[i] ?? "";
    if (/\s/.test(char)) {
      i++;
    } else if (/["'`]/.test(char)) {
      skipString();
    } else if (char === "[") {
      skipUntil("]"); // a range or subquery duration, Grafana variables included
    } else if (char === "{") {
      selectors.push({ metric: "", matchers: matchers() });
    } else if (char === "$") {
      // A Grafana variable: $name or ${name}.
      i++;
      if (expr[i] === "{") skipUntil("}");
      else match(IDENTIFIER);
    } else if (/[0-9.]/.test(char) && match(NUMBER) !== undefined) {
      // a number
    } else {
      const word = match(IDENTIFIER);
      if (word === undefined) {
        i++; // an operator, a parenthesis or a comma
      } else if (LABEL_LISTS.has(word)) {
        groupingLabels.push(...labelList());
      } else if (word === "offset") {
        skipSpace();
        match(/-?[0-9a-z]+/y);
      } else if (isMetricName(word)) {
        skipSpace();
        selectors.push({ metric: word, matchers: expr[i] === "{" ? matchers() : [] });
      }
    }
  }
  return { selectors, groupingLabels };

  // Not an operator, a literal, a function call or an aggregation (`sum by (x) (...)`).
  function isMetricName(word: string): boolean {
    if (OPERATORS.has(word) || /^(inf|nan)$/i.test(word) || peek() === "(") return false;
    return !(AGGREGATIONS.has(word) && /^(by|without)\b/.test(expr.slice(i).trimStart()));
  }
}

/** The series selector of a Grafana `label_values(<selector>, <label>)` query. */
export function labelValuesSelector(query: string): { selector: string; label: string } {
  const found = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/s.exec(query.trim());
  if (found === null) throw new Error(`not a label_values(<selector>, <label>) query: ${query}`);
  return { selector: found[1] ?? "", label: found[2] ?? "" };
}
