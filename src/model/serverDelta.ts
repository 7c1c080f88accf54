// Whether a new haproxy.cfg differs from the live one only in the servers of
// backends haproxy can change at run time, and if so, how. Pure: it reads
// the two texts the charm rendered, never haproxy.
//
// haproxy's runtime API adds, removes, readdresses, reweights and
// (dis)ables servers without a reload; everything else (a frontend, an
// option, a certificate) needs one. The live process must end up as a
// restart with the new file would start, so anything a restart could do
// differently reloads: servers whose ids a restart would renumber under an
// id-sensitive algorithm, names that need resolving, backends whose
// `default-server` a server added at run time would not inherit, words the
// admin socket would read as syntax.

export interface ConfiguredServer {
  readonly name: string;
  /** As written, without brackets: an IPv4 or IPv6 literal, or a name. */
  readonly address: string;
  readonly port: number;
  /** The options after the address, as written. */
  readonly options: readonly string[];
}

export interface ServerUpdate {
  readonly name: string;
  readonly address?: string;
  readonly port?: number;
  readonly weight?: number;
  readonly disabled?: boolean;
}

export interface BackendDelta {
  readonly backend: string;
  /** In file order: each is added after the servers already there. */
  readonly add: readonly ConfiguredServer[];
  readonly update: readonly ServerUpdate[];
  readonly remove: readonly ConfiguredServer[];
  /** Every server the backend has once the delta is applied, in file order. */
  readonly servers: readonly ConfiguredServer[];
}

export type ServerDelta =
  | { readonly kind: "runtime"; readonly backends: readonly BackendDelta[] }
  | { readonly kind: "reload"; readonly reason: string };

interface Section {
  /** `backend web`, `defaults`, ... */
  readonly header: string;
  /** Every line but the server lines, in order. */
  readonly lines: readonly string[];
  readonly servers: readonly ConfiguredServer[];
}

// A restart numbers servers in file order; these algorithms place or pick
// servers by that id, so a server added or removed at run time would sit
// elsewhere than after a restart unless the ids stay as they are.
const ID_SENSITIVE = new Set(["first", "source", "uri", "url_param", "rdp-cookie", "hash"]);
// Algorithms haproxy lets `add server` use; hashing ones only with
// `hash-type consistent` (a map-based hash cannot grow).
const DYNAMIC = new Set(["roundrobin", "leastconn", "first", "random"]);

export function planServerDelta(liveText: string, newText: string): ServerDelta {
  const live = parseSections(liveText);
  const next = parseSections(newText);
  if (live === undefined || next === undefined) {
    return reload("a server line the charm did not write");
  }
  if (skeleton(live) !== skeleton(next)) return reload("more than servers changed");
  const defaults = next.find((section) => section.header === "defaults");
  const backends: BackendDelta[] = [];
  for (const [index, section] of next.entries()) {
    const before = live[index] as Section;
    if (sameServers(before.servers, section.servers)) continue;
    const delta = backendDelta(section, before.servers, defaults);
    if (typeof delta === "string") return reload(`${section.header}: ${delta}`);
    backends.push(delta);
  }
  if (backends.length === 0) return reload("no server changed");
  return { kind: "runtime", backends };
}

/** The servers of every backend and listen section, by section name. */
export function configuredServers(text: string): Map<string, readonly ConfiguredServer[]> {
  const servers = new Map<string, readonly ConfiguredServer[]>();
  for (const section of parseSections(text) ?? []) {
    const [kind, name] = section.header.split(/\s+/);
    if ((kind === "backend" || kind === "listen") && name !== undefined) {
      servers.set(name, section.servers);
    }
  }
  return servers;
}

function backendDelta(
  section: Section,
  liveServers: readonly ConfiguredServer[],
  defaults: Section | undefined,
): BackendDelta | string {
  const [kind, backend] = section.header.split(/\s+/);
  if ((kind !== "backend" && kind !== "listen") || backend === undefined) {
    return "servers outside a backend";
  }
  const setting = (keyword: string) =>
    lineValue(section.lines, keyword) ?? lineValue(defaults?.lines ?? [], keyword);
  if (setting("default-server") !== undefined) {
    return "servers added at run time would not inherit default-server";
  }
  // Its servers are not in the file: the runtime API would see more than the charm wrote.
  if (lineValue(section.lines, "server-template") !== undefined) {
    return "server-template servers are not the charm's to change at run time";
  }
  const algorithm = (setting("balance") ?? "roundrobin").split(/[\s(]/)[0] ?? "";
  const consistent = setting("hash-type")?.split(/\s+/)[0] === "consistent";
  if (!DYNAMIC.has(algorithm) && !(consistent && algorithm !== "static-rr")) {
    return `balance ${algorithm} cannot take servers at run time`;
  }

  const liveByName = new Map(liveServers.map((server) => [server.name, server]));
  const nextNames = new Set(section.servers.map((server) => server.name));
  const remove = liveServers.filter((server) => !nextNames.has(server.name));
  const add = section.servers.filter((server) => !liveByName.has(server.name));
  const kept = section.servers.filter((server) => liveByName.has(server.name));
  // Added servers go after the others; a restart would put them where the file does.
  // That matters where servers are picked by id, and with backups: the first
  // one in the list takes the traffic when no other server is up.
  if (section.servers.slice(0, kept.length).some((server) => !liveByName.has(server.name))) {
    if (ID_SENSITIVE.has(algorithm) || consistent) return "servers added before others";
    if (section.servers.some((server) => server.options.includes("backup"))) {
      return "servers added before others in a backend with backup servers";
    }
  }
  const keptInLiveOrder = liveServers.filter((server) => nextNames.has(server.name));
  if (kept.some((server, i) => server.name !== keptInLiveOrder[i]?.name)) {
    return "servers reordered";
  }
  if ((ID_SENSITIVE.has(algorithm) || consistent) && remove.length > 0) {
    const lastKept = Math.max(
      ...liveServers.map((server, i) => (nextNames.has(server.name) ? i : -1)),
    );
    if (remove.some((server) => liveServers.indexOf(server) < lastKept)) {
      return "a server removed before others would renumber them";
    }
  }
  for (const server of add) {
    if (!isAddressLiteral(server.address)) return `${server.name} has a name to resolve`;
  }

  const update: ServerUpdate[] = [];
  for (const server of kept) {
    const change = serverUpdate(liveByName.get(server.name) as ConfiguredServer, server);
    if (typeof change === "string") return `${server.name}: ${change}`;
    if (change !== undefined) update.push(change);
  }
  const delta = { backend, add, update, remove, servers: section.servers };
  return cliSyntaxProblem(delta) ?? delta;
}

// haproxy's CLI splits a line into commands at `;` and reads `#`, `\` and
// quotes its own way: a word holding one would not reach haproxy as the file
// says it (`cookie "x;set server ..."` would run a second command).
const CLI_SYNTAX = /[;#\\'"]/;

/** What in the commands for `delta` haproxy's CLI would read as syntax, if anything. */
export function cliSyntaxProblem(delta: BackendDelta): string | undefined {
  const words = [
    delta.backend,
    ...delta.add.flatMap((server) => [server.name, server.address, ...server.options]),
    ...delta.update.flatMap((update) => [update.name, update.address ?? ""]),
    ...delta.remove.flatMap((server) => [server.name, server.address]),
  ];
  const word = words.find((candidate) => CLI_SYNTAX.test(candidate));
  if (word === undefined) return undefined;
  const character = CLI_SYNTAX.exec(word)?.[0] ?? "";
  return `${word} holds ${character}, which the admin socket reads as syntax`;
}

function serverUpdate(
  live: ConfiguredServer,
  next: ConfiguredServer,
): ServerUpdate | string | undefined {
  if (otherOptions(live.options).join(" ") !== otherOptions(next.options).join(" ")) {
    return "options other than weight and disabled changed";
  }
  const moved = live.address !== next.address || live.port !== next.port;
  if (moved && !isAddressLiteral(next.address)) return "a name to resolve";
  const weight = weightOf(next.options);
  const disabled = isDisabled(next.options);
  const update: ServerUpdate = {
    name: next.name,
    ...(moved && { address: next.address, port: next.port }),
    ...(weight !== weightOf(live.options) && { weight }),
    ...(disabled !== isDisabled(live.options) && { disabled }),
  };
  return Object.keys(update).length > 1 ? update : undefined;
}

/** A server's weight as haproxy takes it: 1 unless the options say otherwise. */
export function weightOf(options: readonly string[]): number {
  const index = options.lastIndexOf("weight");
  const value = index >= 0 ? Number(options[index + 1]) : 1;
  return Number.isInteger(value) ? value : 1;
}

export function isDisabled(options: readonly string[]): boolean {
  return options.includes("disabled");
}

/** The options the runtime API cannot change: all but weight and disabled. */
function otherOptions(options: readonly string[]): string[] {
  return options.filter(
    (option, i) => option !== "weight" && options[i - 1] !== "weight" && option !== "disabled",
  );
}

function sameServers(a: readonly ConfiguredServer[], b: readonly ConfiguredServer[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function skeleton(sections: readonly Section[]): string {
  return JSON.stringify(sections.map((section) => [section.header, section.lines]));
}

function lineValue(lines: readonly string[], keyword: string): string | undefined {
  for (const line of [...lines].reverse()) {
    const trimmed = line.trim();
    if (trimmed === keyword) return "";
    if (trimmed.startsWith(`${keyword} `)) return trimmed.slice(keyword.length + 1).trim();
  }
  return undefined;
}

export function isAddressLiteral(address: string): boolean {
  return (
    /^\d{1,3}(\.\d{1,3}){3}$/.test(address) ||
    (/^[0-9a-f:.]+$/i.test(address) && address.includes(":"))
  );
}

// `server <name> <address>:<port> [options]`: the form the charm renders.
const SERVER_LINE = /^\s+server\s+(\S+)\s+(\[[^\]]+\]|[^\s[]+):(\d+)(?:\s+(.*))?$/;

/** Undefined when a server line is not in the charm's form (then only a reload is safe). */
function parseSections(text: string): Section[] | undefined {
  const sections: { header: string; lines: string[]; servers: ConfiguredServer[] }[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (!/^\s/.test(line)) {
      sections.push({ header: line.trim(), lines: [], servers: [] });
      continue;
    }
    const current = sections.at(-1);
    if (current === undefined) return undefined;
    if (!/^\s+server\s/.test(line)) {
      current.lines.push(line.trim());
      continue;
    }
    const match = SERVER_LINE.exec(line);
    if (match === null) return undefined;
    const [, name, address, port, options] = match as unknown as [
      string,
      string,
      string,
      string,
      string?,
    ];
    current.servers.push({
      name,
      address: address.replace(/^\[(.*)\]$/, "$1"),
      port: Number(port),
      options: options?.trim().split(/\s+/) ?? [],
    });
  }
  return sections;
}

function reload(reason: string): ServerDelta {
  return { kind: "reload", reason };
}
