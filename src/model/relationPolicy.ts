// Relation data is written by other applications; the operator's `juju config`
// is not. What a related application may put into haproxy.cfg is decided here,
// once, for every relation that brings options or backend addresses: no line
// that names a file or a program, reads the environment, or opens a way into
// the haproxy machine itself (its loopback services, its admin interfaces).
// The README's "Relation data is untrusted" table is this module in prose.
import { isIP } from "node:net";

import { InvalidField, describe } from "./fieldChecks.js";
import type { ParsedService } from "./parseServices.js";
import type { ServerSpec } from "./types.js";

/** Directives a related application's service options may start with. */
export const RELATION_DIRECTIVES: readonly string[] = [
  "acl",
  "backlog",
  "balance",
  "capture",
  "compression",
  "cookie",
  "declare",
  "default-server",
  "default_backend",
  "description",
  "errorfiles",
  "errorloc",
  "errorloc302",
  "errorloc303",
  "filter",
  "force-persist",
  "fullconn",
  "hash-balance-factor",
  "hash-type",
  "http-after-response",
  "http-check",
  "http-error",
  "http-request",
  "http-response",
  "http-reuse",
  "http-send-name-header",
  "ignore-persist",
  "log",
  "log-format",
  "log-format-sd",
  "log-tag",
  "max-keep-alive-queue",
  "maxconn",
  "mode",
  "monitor",
  "monitor-uri",
  "no",
  "option",
  "persist",
  "rate-limit",
  "redirect",
  "retries",
  "retry-on",
  "stick",
  "stick-table",
  "tcp-check",
  "tcp-request",
  "tcp-response",
  "timeout",
  "unique-id-format",
  "unique-id-header",
  "use-server",
  "use_backend",
];
const ALLOWED_DIRECTIVES = new Set(RELATION_DIRECTIVES);

/** Words that make haproxy read a file (or a directory of them) at load time. */
export const FILE_WORDS: readonly string[] = [
  "file",
  "lf-file",
  "errorfile",
  "crt",
  "crt-list",
  "ca-file",
  "ca-verify-file",
  "ca-sign-file",
  "crl-file",
  "issuers-chain-path",
  "-f",
];
const FILE_WORD_SET = new Set(FILE_WORDS);

/** `option`s that hand haproxy's connections or a program to someone else. */
export const REFUSED_OPTIONS: readonly string[] = [
  "external-check", // runs a program
  "http_proxy", // connects wherever the request's URL says
  "transparent", // connects wherever the client was going
];

/** Rule actions that load files, run Lua or SPOE, serve haproxy's internals or redirect connections. */
export const REFUSED_ACTIONS: readonly string[] = [
  "use-service",
  "send-spoe-group",
  "set-dst",
  "set-dst-port",
  "set-map",
  "del-map",
  "add-acl",
  "del-acl",
  "lua.*",
];
const REFUSED_ACTION_SET = new Set(REFUSED_ACTIONS.filter((action) => !action.endsWith("*")));

/** Server options that name a file, or send connections or checks somewhere else. */
export const REFUSED_SERVER_WORDS: readonly string[] = [
  "crt",
  "ca-file",
  "crl-file",
  "addr",
  "agent-addr",
  "socks4",
  "source",
  "usesrc",
  "namespace",
];
const REFUSED_SERVER_WORD_SET = new Set(REFUSED_SERVER_WORDS);

/** Filters that only transform traffic; the others load a configuration file or a program. */
const SAFE_FILTERS = new Set(["compression", "cache", "bwlim-in", "bwlim-out"]);
const RULE_DIRECTIVES = new Set([
  "http-request",
  "http-response",
  "http-after-response",
  "tcp-request",
  "tcp-response",
]);
// `tcp-request content <action>`, `tcp-request connection <action>` ...
const RULE_STAGES = new Set(["connection", "session", "content", "inspect-delay"]);
const INIT_ADDR_METHODS = new Set(["last", "libc", "none"]);
// Converters and fetches whose argument is a file: map(), map_str(), set-map() ...
const FILE_ARGUMENT = /(^|[^A-Za-z0-9_-])(map(_[a-z0-9]+)?|(set|del)-map|(add|del)-acl)\(/;
// A Lua fetch, converter, action or service: `lua.f`, `%[lua.f]`, `%[src,lua.f]`.
const LUA = /(^|[,[(])lua\./;

// ---- addresses ----

/** Address ranges no related application may name as a backend, and what they are. */
export const REFUSED_ADDRESS_RANGES: readonly (readonly [string, number, string])[] = [
  ["127.0.0.0", 8, "loopback"],
  ["::1", 128, "loopback"],
  ["0.0.0.0", 8, "unspecified"],
  ["::", 128, "unspecified"],
  ["169.254.0.0", 16, "link-local"],
  ["fe80::", 10, "link-local"],
  ["224.0.0.0", 4, "multicast"],
  ["ff00::", 8, "multicast"],
  ["255.255.255.255", 32, "broadcast"],
];
// Each range as the leading bits of the address's 16 bytes (IPv4 as ::ffff:a.b.c.d).
const refusedRanges = REFUSED_ADDRESS_RANGES.map(([network, prefix, kind]) => {
  const bytes = addressBytes(network) as Uint8Array;
  return { bytes, bits: isIP(network) === 4 ? 96 + prefix : prefix, kind };
});
// getaddrinfo takes "127.1", "2130706433" and "0x7f.1" for 127.0.0.1.
const NUMERIC_HOST = /^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+))*\.?$/i;
const LOCALHOST_NAME = /^(localhost|ip6-localhost|ip6-loopback)\.?$|\.localhost\.?$/i;

/** What kind of address `address` is when no related application may use it, else undefined. */
export function refusedAddressKind(address: string): string | undefined {
  const bytes = addressBytes(bareAddress(address));
  if (bytes === undefined) return undefined;
  return refusedRanges.find((range) => startsWith(bytes, range.bytes, range.bits))?.kind;
}

/** The 16 bytes of an IP address, an IPv4 one mapped (::ffff:a.b.c.d); undefined for a name. */
function addressBytes(address: string): Uint8Array | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  const bytes = new Uint8Array(16);
  if (family === 4) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    address.split(".").forEach((part, i) => (bytes[12 + i] = Number(part)));
    return bytes;
  }
  // A trailing dotted quad is the last two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const text = quad
    ? address.slice(0, quad.index) +
      [0, 2].map((i) => ((Number(quad[i + 1]) << 8) | Number(quad[i + 2])).toString(16)).join(":")
    : address;
  const [head = "", tail] = text.split("::");
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const written = [...groups(head), ...groups(tail)];
  const all =
    tail === undefined
      ? written
      : [...groups(head), ...Array(8 - written.length).fill("0"), ...groups(tail)];
  all.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const mask = bits - bit >= 8 ? 0xff : (0xff << (8 - (bits - bit))) & 0xff;
    if (((bytes[bit / 8] as number) & mask) !== ((prefix[bit / 8] as number) & mask)) return false;
  }
  return true;
}

/** An address without the brackets haproxy needs before a port, and without an IPv6 zone. */
function bareAddress(host: string): string {
  return host.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
}

/** A host that is not an IP address: a name that must be asked of DNS. */
function isNameToResolve(host: string): boolean {
  return isIP(bareAddress(host)) === 0;
}

// ---- haproxy's words ----

interface Words {
  readonly words: readonly string[];
  /** A `"$VAR"` that haproxy would replace with its own environment. */
  readonly readsEnvironment: boolean;
}

/**
 * A configuration line split and unquoted as haproxy reads it: quotes and
 * backslash escapes are resolved first, so `"fi"le` is the word `file`.
 */
export function haproxyWords(line: string): Words {
  const words: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  let readsEnvironment = false;
  const append = (text: string) => (word = (word ?? "") + text);
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i] as string;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else append(char);
    } else if (char === "\\") {
      const next = line[i + 1] ?? "";
      const hex = /^x[0-9a-fA-F]{2}/.exec(line.slice(i + 1, i + 4));
      if (hex) {
        append(String.fromCharCode(parseInt(hex[0].slice(1), 16)));
        i += 3;
      } else {
        append({ r: "\r", n: "\n", t: "\t" }[next] ?? next);
        i += 1;
      }
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else {
        if (char === "$" && /[{A-Za-z_]/.test(line[i + 1] ?? "")) readsEnvironment = true;
        append(char);
      }
    } else if (char === "'" || char === '"') {
      quote = char;
      append("");
    } else if (char === "#") {
      break;
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      append(char);
    }
  }
  if (word !== undefined) words.push(word);
  return { words, readsEnvironment };
}

// ---- the policy ----

/** The addresses each name resolved to when the hook looked them up. */
export type ResolvedHosts = Readonly<Record<string, readonly string[]>>;

export interface RelationPolicyOptions {
  /** `trust_relation_data`: the operator trusts every related charm (the classic behaviour). */
  readonly trusted: boolean;
  /** What the names relation data gives as backends resolved to, as the hook found them. */
  readonly resolvedHosts?: ResolvedHosts;
  /**
   * This unit's own addresses: an application on the same machine is reached
   * there, as from any other machine, never through loopback.
   */
  readonly ownAddresses?: readonly string[];
}

/**
 * Checks what relation data brings; throws InvalidField naming the field and
 * what in it is refused. Names whose addresses are not known yet are noted in
 * `unresolvedNames`, for the hook to look up and plan again.
 */
export class RelationPolicy {
  readonly trusted: boolean;
  // A Map: a name such as "constructor" must not find Object's own properties.
  private readonly resolvedHosts: ReadonlyMap<string, readonly string[]>;
  private readonly ownAddresses: ReadonlySet<string>;
  private readonly unresolved = new Set<string>();

  constructor(options: RelationPolicyOptions) {
    this.trusted = options.trusted;
    this.resolvedHosts = new Map(Object.entries(options.resolvedHosts ?? {}));
    this.ownAddresses = new Set((options.ownAddresses ?? []).map(bareAddress));
  }

  get unresolvedNames(): readonly string[] {
    return [...this.unresolved];
  }

  /** One line of a service's options (`service_options`). */
  serviceLine(line: string, field: string): string {
    if (this.trusted) return line;
    const problem = lineProblem(haproxyWords(line));
    if (problem !== undefined) throw refused(field, line, problem);
    return line;
  }

  /** Options of a server or of every server of a service (`server_options`). */
  serverOptions(options: readonly string[], field: string): readonly string[] {
    if (this.trusted) return options;
    options.forEach((option, i) => {
      const parsed = haproxyWords(option);
      const problem = environmentProblem(parsed) ?? serverWordsProblem(parsed.words);
      if (problem !== undefined) throw refused(`${field}[${i}]`, option, problem);
    });
    return options;
  }

  /** A backend's address: never the haproxy machine's own loopback, nor link-local or multicast. */
  backendAddress(host: string, field: string): string {
    if (this.trusted || this.ownAddresses.has(bareAddress(host))) return host;
    const direct = refusedAddressKind(host);
    if (direct !== undefined)
      throw new InvalidField(field, `${describe(host)} is ${anAddress(direct)}`);
    if (!isNameToResolve(host)) return host;
    if (LOCALHOST_NAME.test(host)) {
      throw new InvalidField(field, `${describe(host)} names this machine (loopback)`);
    }
    if (NUMERIC_HOST.test(host)) {
      throw new InvalidField(field, `${describe(host)} is not a dotted IPv4 address`);
    }
    const addresses = this.resolvedHosts.get(host);
    if (addresses === undefined) {
      this.unresolved.add(host);
      return host;
    }
    for (const address of addresses) {
      if (this.ownAddresses.has(bareAddress(address))) continue;
      const kind = refusedAddressKind(address);
      if (kind !== undefined) {
        throw new InvalidField(
          field,
          `${describe(host)} resolves to ${address}, ${anAddress(kind)}`,
        );
      }
    }
    return host;
  }

  /** A service a related application describes, every part of it checked. */
  service(service: ParsedService, field: string): ParsedService {
    if (this.trusted) return service;
    const at = `${field} (${service.name})`;
    service.serviceOptions?.forEach((line, i) =>
      this.serviceLine(line, `${at}.service_options[${i}]`),
    );
    if (service.serverOptions) this.serverOptions(service.serverOptions, `${at}.server_options`);
    this.servers(service.servers ?? [], `${at}.servers`);
    for (const [i, backend] of (service.backends ?? []).entries()) {
      this.servers(backend.servers, `${at}.backends[${i}] (${backend.name}).servers`);
    }
    for (const [i, crt] of (service.crts ?? []).entries()) {
      if (crt.kind === "directory") this.certificateDirectory(crt.path, `${at}.crts[${i}]`);
    }
    return service;
  }

  private servers(servers: readonly ServerSpec[], field: string): void {
    servers.forEach((server, i) => {
      this.backendAddress(server.address, `${field}[${i}].host`);
      this.serverOptions(server.options, `${field}[${i}].options`);
    });
  }

  /** A certificate directory on this machine: never from a related application. */
  certificateDirectory(path: string, field: string): string {
    if (this.trusted) return path;
    throw new InvalidField(field, `${describe(path)} names a directory on the haproxy machine`);
  }
}

function anAddress(kind: string): string {
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind} address`;
}

function refused(field: string, line: string, problem: string): InvalidField {
  return new InvalidField(field, `${describe(line)} refused: ${problem}`);
}

function environmentProblem({ readsEnvironment }: Words): string | undefined {
  return readsEnvironment ? 'it reads haproxy\'s environment ("$...")' : undefined;
}

function lineProblem(parsed: Words): string | undefined {
  const { words } = parsed;
  const [first = "", second = ""] = words;
  if (!ALLOWED_DIRECTIVES.has(first)) {
    return `related applications may not set "${first}" (see the README's relation data policy)`;
  }
  return (
    environmentProblem(parsed) ??
    directiveProblem(first, second, words) ??
    fileWordProblem(words) ??
    (first === "default-server" ? serverWordsProblem(words.slice(1)) : undefined)
  );
}

function directiveProblem(first: string, second: string, words: readonly string[]) {
  if (first === "no") {
    if (second === "log") return undefined;
    if (second !== "option")
      return `"no ${second}" is not a directive related applications may set`;
    return optionProblem(words[2] ?? "");
  }
  if (first === "option") return optionProblem(second);
  if (first === "log" && !(words.length === 2 && second === "global")) {
    return `"log" may only be "log global" (no log target on the haproxy machine)`;
  }
  if (first === "filter" && !SAFE_FILTERS.has(second)) {
    return `"filter ${second}" loads a configuration or a program`;
  }
  if (first.startsWith("errorloc") && !/^https?:\/\//.test(words[2] ?? "")) {
    return `"${first}" must redirect to an http:// or https:// URL`;
  }
  if ((first === "tcp-check" || first === "http-check") && words.includes("addr")) {
    return `"${first} ... addr" sends checks to another address`;
  }
  if (RULE_DIRECTIVES.has(first)) return actionProblem(words);
  return undefined;
}

function optionProblem(option: string): string | undefined {
  return REFUSED_OPTIONS.includes(option) ? `"option ${option}" is refused` : undefined;
}

function actionProblem(words: readonly string[]): string | undefined {
  const action = RULE_STAGES.has(words[1] ?? "") ? (words[2] ?? "") : (words[1] ?? "");
  const name = action.split("(", 1)[0] ?? action;
  if (REFUSED_ACTION_SET.has(name) || name.startsWith("lua.")) {
    return `the "${name}" action is refused`;
  }
  return undefined;
}

function fileWordProblem(words: readonly string[]): string | undefined {
  for (const [i, word] of words.entries()) {
    if (i === 0) continue;
    if (FILE_WORD_SET.has(word) && !(word === "ca-file" && words[i + 1] === "@system-ca")) {
      return `"${word}" names a file on the haproxy machine`;
    }
    if (FILE_ARGUMENT.test(word)) return `${describe(word)} reads a file on the haproxy machine`;
    if (LUA.test(word)) return `${describe(word)} runs Lua`;
  }
  return undefined;
}

function serverWordsProblem(words: readonly string[]): string | undefined {
  for (const [i, word] of words.entries()) {
    if (word === "ca-file" && words[i + 1] === "@system-ca") continue;
    if (REFUSED_SERVER_WORD_SET.has(word)) {
      return word === "crt" || word.endsWith("-file")
        ? `"${word}" names a file on the haproxy machine (for the system's CAs: ca-file @system-ca)`
        : `"${word}" sends connections or checks to another address`;
    }
    if (word === "init-addr") {
      const methods = (words[i + 1] ?? "").split(",");
      if (!methods.every((method) => INIT_ADDR_METHODS.has(method))) {
        return `"init-addr" may only name last, libc and none`;
      }
    }
  }
  return undefined;
}
