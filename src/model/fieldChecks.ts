// Checks for values that end up in haproxy.cfg or in file names. Relation
// data comes from other teams' charms and config from operators' typing, so
// every value is `unknown` until one of these accepts it.

/** A value was unusable; `field` is a dotted path such as `services[1].servers[0].port`. */
export class InvalidField extends Error {
  override readonly name = "InvalidField";
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

// Names become haproxy identifiers and parts of file names: no slashes, no spaces.
const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
// Host names, IPv4 and IPv6 addresses (optionally bracketed or with a zone).
const HOST = /^[A-Za-z0-9_.:%[\]-]{1,255}$/;
const LINE_BREAK = /[\r\n\0\u2028\u2029\u0085]/;

export function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function checkName(value: unknown, field: string): string {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || !NAME.test(text) || text === "." || text === "..") {
    throw new InvalidField(
      field,
      `${describe(value)} is not a valid name (1-128 letters, digits, "_", ".", ":", "-")`,
    );
  }
  return text;
}

export function checkHost(value: unknown, field: string): string {
  if (typeof value !== "string" || !HOST.test(value)) {
    throw new InvalidField(field, `${describe(value)} is not a host name or IP address`);
  }
  return value;
}

export function checkPort(value: unknown, field: string): number {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || !/^\d{1,5}$/.test(text.trim())) {
    throw new InvalidField(field, `${describe(value)} is not a port number`);
  }
  const port = Number(text.trim());
  if (port < 1 || port > 65535) {
    throw new InvalidField(field, `${port} is outside 1-65535`);
  }
  return port;
}

/** Free text that becomes one haproxy.cfg line: anything but a line break. */
export function checkLine(value: unknown, field: string): string {
  const text = typeof value === "number" || typeof value === "boolean" ? String(value) : value;
  if (typeof text !== "string") {
    throw new InvalidField(field, `expected text, got ${describe(value)}`);
  }
  if (LINE_BREAK.test(text)) {
    throw new InvalidField(field, "must not contain a line break");
  }
  return text.trim();
}

/** The old charm's comma lists: "a, b,,c" is ["a", "b", "c"]. */
export function commaSplit(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** A list of option lines given either as a YAML list or as one comma-separated string. */
export function checkOptionList(value: unknown, field: string): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === "string") return commaSplit(checkLine(value, field));
  if (!Array.isArray(value)) {
    throw new InvalidField(field, `expected a list or a comma-separated string`);
  }
  return value.map((item, i) => checkLine(item, `${field}[${i}]`)).filter((line) => line !== "");
}

// haproxy opens a section at any line whose first word names one, however
// indented, and reads a first word starting with "." as a directive (`.if`).
// Every section keyword of haproxy 2.6 through 3.x:
const SECTION_KEYWORDS = new Set([
  "global",
  "defaults",
  "frontend",
  "backend",
  "listen",
  "userlist",
  "peers",
  "mailers",
  "resolvers",
  "program",
  "http-errors",
  "ring",
  "cache",
  "fcgi-app",
  "log-forward",
  "namespace_list",
  "crt-store",
  "traces",
  "acme",
]);

/**
 * Option lines that stand on their own line in a stanza (service options):
 * none may end the stanza it belongs to and take the lines after it along.
 */
export function checkStanzaLines(value: unknown, field: string): string[] {
  const lines = checkOptionList(value, field);
  lines.forEach((line, i) => {
    const first = line.split(/[\s#]/, 1)[0] ?? "";
    // haproxy unquotes and unescapes a word before it compares it.
    if (SECTION_KEYWORDS.has(first) || first.startsWith(".") || /["'\\]/.test(first)) {
      throw new InvalidField(`${field}[${i}]`, `${describe(first)} cannot start an option line`);
    }
  });
  return lines;
}

export function checkList(value: unknown, field: string): readonly unknown[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidField(field, "expected a list");
  return value;
}

export function checkMapping(value: unknown, field: string): Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidField(field, `expected a mapping, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}
