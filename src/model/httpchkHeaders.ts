// The classic charm's way to give a health check headers was to hide them
// after the HTTP version of `option httpchk`:
//
//   option httpchk GET / HTTP/1.1\r\nHost:\ www.example.com
//
// haproxy 2.2 to 2.7 warn about it, 2.8 and later refuse it ("hiding headers
// or body at the end of the version string is unsupported"). Such an option
// becomes the same request said the way every haproxy since 2.2 accepts:
//
//   option httpchk GET / HTTP/1.1
//   http-check send hdr Host www.example.com
//
// haproxy reads both into one request, header values as log-format strings
// and the body as a plain string, so they are moved over as they are. What
// this cannot move faithfully is left as written, for haproxy to judge.

/** A request header as `http-check send hdr <name> <value>` takes it. */
interface Header {
  readonly name: string;
  readonly value: string;
}

const HTTPCHK = /^option\s+httpchk(\s|$)/;
// An operator's own send or connect rule would make a second request step.
const OWN_REQUEST_RULE = /^http-check\s+(send|connect)(\s|$)/;
// Rules haproxy runs after the request; the request's lines must precede them.
const LATER_RULE = /^http-check\s+(expect|comment|set-var|unset-var)[\s(]/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `options` (a service's, in order) with a classic `option httpchk` that hides
 * headers or a body after its version turned into `option httpchk` followed
 * by one `http-check send`, placed before the service's other http-check
 * rules. Anything else comes back unchanged.
 */
export function moveHttpchkHeaders(options: readonly string[]): string[] {
  const checks = options.filter((option) => HTTPCHK.test(option));
  const [check] = checks;
  if (check === undefined || checks.length > 1) return [...options];
  if (options.some((option) => OWN_REQUEST_RULE.test(option))) return [...options];
  const lines = splitHttpchk(check);
  if (lines === undefined) return [...options];
  const at = options.findIndex((option) => option === check || LATER_RULE.test(option));
  const others = options.filter((option) => option !== check);
  return [...others.slice(0, at), ...lines, ...others.slice(at)];
}

/** The lines that replace `option`, or undefined when it hides nothing or cannot be moved. */
function splitHttpchk(option: string): string[] | undefined {
  const words = configWords(option);
  // Only the three-argument form has a version, where haproxy looks for more.
  if (words?.length !== 5) return undefined;
  const [, , method = "", uri = "", versionText = ""] = words;
  const headersAt = versionText.indexOf("\r\n");
  if (headersAt < 0) return undefined;
  const bodyAt = versionText.indexOf("\r\n\r\n");
  const version = versionText.slice(0, headersAt);
  // Headers with no version before them: no request line to keep.
  if (version === "") return undefined;
  const headerText =
    bodyAt === headersAt ? "" : versionText.slice(headersAt + 2, bodyAt < 0 ? undefined : bodyAt);
  const headers = parseHeaders(headerText);
  if (headers === undefined) return undefined;
  const body = bodyAt < 0 ? "" : versionText.slice(bodyAt + 4);
  const send = [
    ...headers.map((header) => `hdr ${header.name} ${configWord(header.value)}`),
    ...(body === "" ? [] : [`body ${configWord(body)}`]),
  ];
  return [
    `option httpchk ${[method, uri, version].map(configWord).join(" ")}`,
    ...(send.length === 0 ? [] : [`http-check send ${send.join(" ")}`]),
  ];
}

/** `Name: value` lines as an HTTP/1 parser reads them; undefined if one is not a header. */
function parseHeaders(text: string): Header[] | undefined {
  const headers: Header[] = [];
  for (const line of text.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = line.slice(0, Math.max(colon, 0));
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!TOKEN.test(name) || value === "" || /[\r\n\0]/.test(value)) return undefined;
    headers.push({ name, value });
  }
  return headers;
}

// haproxy's escapes outside quotes; any other backslash stays as written.
const UNESCAPED: Readonly<Record<string, string>> = {
  " ": " ",
  "\\": "\\",
  r: "\r",
  n: "\n",
  t: "\t",
  "#": "#",
  '"': '"',
  "'": "'",
};

/**
 * The words haproxy reads from a configuration line, with its escapes
 * undone; undefined for what this does not follow (quotes, `\x` bytes, a
 * comment), which is then left alone.
 */
function configWords(line: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i] as string;
    if (char === " " || char === "\t") {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    }
    if (char === '"' || char === "'" || char === "#") return undefined;
    if (char === "\\") {
      const next = line[i + 1];
      if (next === "x") return undefined;
      const unescaped = next === undefined ? undefined : UNESCAPED[next];
      if (unescaped !== undefined) {
        word = (word ?? "") + unescaped;
        i += 1;
        continue;
      }
    }
    word = (word ?? "") + char;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** `text` as one word of a haproxy configuration line. */
function configWord(text: string): string {
  return text.replace(/[\\ \t\r\n#"']/g, (char) => {
    switch (char) {
      case "\t":
        return "\\t";
      case "\r":
        return "\\r";
      case "\n":
        return "\\n";
      default:
        return `\\${char}`;
    }
  });
}
