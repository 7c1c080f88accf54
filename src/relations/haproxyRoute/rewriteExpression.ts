// A rewrite's expression is a haproxy log-format: literal text with `%[...]`
// sample expressions that haproxy parses and checks when it loads the
// configuration. An unknown fetch or converter, a bad argument, a regex that
// does not compile, a `%` haproxy cannot read, a table or backend that does
// not exist: each makes haproxy refuse the whole configuration, so one
// requirer would block every other. Some fetches and converters also read
// files (map*, jwt_verify), the environment (env) or run Lua. So only the
// fetches and converters a rewrite needs are taken, each with arguments of a
// shape haproxy 2.6 and later always accepts; anything else leaves the
// application out, naming the field.
import { InvalidField, describe } from "../../model/fieldChecks.js";

type ArgumentCheck = (args: readonly string[] | undefined) => string | undefined;

// Literal text an argument may hold: no separator of haproxy's (",", "(", ")").
const LITERAL = /^[A-Za-z0-9/._~:@!*+=&?-]*$/;
const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
// A variable of a scope an http-request rule can read.
const VARIABLE = /^(proc|sess|txn|req)\.[A-Za-z0-9_.]{1,64}$/;
const INTEGER = /^-?[0-9]{1,9}$/;
// A field's index counts from either end, never 0; haproxy refuses 0.
const FIELD_INDEX = /^-?[1-9][0-9]?$/;
const COUNT = /^[1-9][0-9]?$/;
const DELIMITERS = /^[A-Za-z0-9/._~:@!*+=&?-]{1,16}$/;
// A regex every engine haproxy is built with compiles: an optional anchor,
// then literal characters or ".", each repeated at most once by *, + or ?.
const REGEX = /^\^?(?:[A-Za-z0-9/_~.-][*+?]?)+$/;
const REGEX_FLAGS = /^(g|i|gi|ig)?$/;

const none: ArgumentCheck = (args) => (args === undefined ? undefined : "takes no arguments");

const one =
  (shape: RegExp, what: string): ArgumentCheck =>
  (args) =>
    args?.length === 1 && shape.test(args[0] ?? "") ? undefined : `takes one ${what}`;

const optionalLiteral: ArgumentCheck = (args) =>
  args === undefined || (args.length === 1 && LITERAL.test(args[0] ?? ""))
    ? undefined
    : "takes at most one word of letters, digits and /._~:@!*+=&?-";

const regsub: ArgumentCheck = (args) => {
  const [regex = "", substitute = "", flags = ""] = args ?? [];
  if (args === undefined || args.length < 2 || args.length > 3) {
    return "takes a regex, a replacement and optional flags";
  }
  if (!REGEX.test(regex)) {
    return `regex ${describe(regex)} is not "^" then letters, digits, /_~.- each optionally followed by *, + or ?`;
  }
  if (!LITERAL.test(substitute)) return `replacement ${describe(substitute)} is not plain text`;
  if (!REGEX_FLAGS.test(flags)) return `flags ${describe(flags)} are not g, i or gi`;
  return undefined;
};

const field: ArgumentCheck = (args) => {
  const [index = "", delimiters = "", count] = args ?? [];
  if (args === undefined || args.length < 2 || args.length > 3) {
    return "takes an index, delimiters and an optional count";
  }
  if (!FIELD_INDEX.test(index)) return `index ${describe(index)} is not -99 to 99 without 0`;
  if (!DELIMITERS.test(delimiters)) return `delimiters ${describe(delimiters)} are not plain text`;
  if (count !== undefined && !COUNT.test(count)) return `count ${describe(count)} is not 1 to 99`;
  return undefined;
};

/** Sample fetches of the request a rewrite may read. */
const FETCHES: Readonly<Record<string, ArgumentCheck>> = {
  base: none,
  cook: one(NAME, "cookie name"),
  dst_port: none,
  hdr: one(NAME, "header name"),
  int: one(INTEGER, "integer"),
  method: none,
  path: none,
  pathq: none,
  query: none,
  "req.cook": one(NAME, "cookie name"),
  "req.fhdr": one(NAME, "header name"),
  "req.hdr": one(NAME, "header name"),
  "req.ver": none,
  src: none,
  src_port: none,
  ssl_fc: none,
  ssl_fc_sni: none,
  str: optionalLiteral,
  "unique-id": none,
  url: none,
  url_param: one(NAME, "parameter name"),
  urlp: one(NAME, "parameter name"),
  uuid: none,
  var: one(VARIABLE, "variable of proc, sess, txn or req"),
};

/** Converters that transform a sample and nothing else. */
const CONVERTERS: Readonly<Record<string, ArgumentCheck>> = {
  b64dec: none,
  base64: none,
  crc32: none,
  field,
  hex: none,
  length: none,
  lower: none,
  regsub,
  sha1: none,
  upper: none,
  url_dec: none,
  word: field,
};

export const REWRITE_FETCHES: readonly string[] = Object.keys(FETCHES);
export const REWRITE_CONVERTERS: readonly string[] = Object.keys(CONVERTERS);

/** One step of a sample expression: `name` or `name(a,b)`. */
const STEP = /^([a-z_][a-z0-9_.-]*)(?:\(([^()]*)\))?$/;

/** `text` when haproxy surely loads it as a rewrite's log-format; else InvalidField on `key`. */
export function checkRewriteExpression(text: string, key: string): string {
  const refuse = (problem: string) => new InvalidField(key, `${describe(text)}: ${problem}`);
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] !== "%") continue;
    const next = text[i + 1];
    if (next === "%") {
      i += 1;
      continue;
    }
    const close = text.indexOf("]", i);
    if (next !== "[" || close === -1) {
      throw refuse(`"%" may only start "%[...]" (a sample expression) or "%%" (a literal %)`);
    }
    const problem = sampleProblem(text.slice(i + 2, close));
    if (problem !== undefined) throw refuse(problem);
    i = close;
  }
  return text;
}

function sampleProblem(sample: string): string | undefined {
  const steps = splitSteps(sample);
  if (steps === undefined) return `${describe(sample)} is not fetch(args),converter(args),...`;
  for (const [i, step] of steps.entries()) {
    const match = STEP.exec(step);
    if (match === null) return `${describe(step)} is not name(args)`;
    const [, name = "", argumentText] = match;
    const table = i === 0 ? FETCHES : CONVERTERS;
    const what = i === 0 ? "fetch" : "converter";
    const check = Object.hasOwn(table, name) ? table[name] : undefined;
    if (check === undefined) {
      return `the ${what} ${describe(name)} is not one of ${Object.keys(table).join(", ")}`;
    }
    const problem = check(argumentText === undefined ? undefined : argumentText.split(","));
    if (problem !== undefined) return `the ${what} ${name} ${problem}`;
  }
  return undefined;
}

/** `fetch(a,b),conv(c)` into its steps, at the commas outside parentheses. */
function splitSteps(sample: string): string[] | undefined {
  const steps: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < sample.length; i += 1) {
    const char = sample[i];
    if (char === "(") depth += 1;
    else if (char === ")") depth -= 1;
    else if (char === "," && depth === 0) {
      steps.push(sample.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) return undefined;
  }
  if (depth !== 0) return undefined;
  steps.push(sample.slice(start));
  return steps.some((step) => step === "") ? undefined : steps;
}
