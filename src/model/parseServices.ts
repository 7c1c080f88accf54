// Parses a services YAML document (config `services`, or a remote unit's
// `services`/`all_services`) into typed, validated service definitions.
import {
  InvalidField,
  checkHost,
  checkLine,
  checkList,
  checkMapping,
  checkName,
  checkOptionList,
  checkPort,
  checkStanzaLines,
  describe,
} from "./fieldChecks.js";
import { PEM_PROBLEMS, pemBundleProblem } from "../lib/pemBundle.js";
import { loadBoundedYaml } from "./boundedYaml.js";
import type { BackendSpec, CrtSpec, ErrorfileSpec, ServerSpec } from "./types.js";

/**
 * A service as one document declares it. Keys it leaves out stay undefined,
 * because merging same-named services keeps the first definer's keys only
 * where it set them (the old charm's dict.update semantics).
 */
export interface ParsedService {
  readonly name: string;
  readonly host?: string;
  readonly port?: number;
  readonly serviceOptions?: readonly string[];
  readonly serverOptions?: readonly string[];
  readonly servers?: readonly ServerSpec[];
  readonly backends?: readonly BackendSpec[];
  readonly errorfiles?: readonly ErrorfileSpec[];
  readonly crts?: readonly CrtSpec[];
}

/** Bigger documents are refused before parsing: no real deployment comes close. */
export const MAX_SERVICES_YAML_BYTES = 256 * 1024;
const MAX_ITEMS = 10_000;

const BASE64 = /^[A-Za-z0-9+/=\s]+$/;

export function parseServicesYaml(text: string, field: string): ParsedService[] {
  if (Buffer.byteLength(text) > MAX_SERVICES_YAML_BYTES) {
    throw new InvalidField(field, `larger than ${MAX_SERVICES_YAML_BYTES / 1024} KiB`);
  }
  return parseServiceList(loadBoundedYaml(text, field), field);
}

export function parseServiceList(document: unknown, field: string): ParsedService[] {
  if (document === null || document === undefined || document === "") return [];
  const items = checkBoundedList(document, field);
  return items.map((item, i) => parseService(item, `${field}[${i}]`));
}

function parseService(value: unknown, field: string): ParsedService {
  const raw = checkMapping(value, field);
  const name = checkName(raw.service_name, `${field}.service_name`);
  const at = `${field} (${name})`;
  const has = (key: string) => raw[key] !== undefined && raw[key] !== null;
  return {
    name,
    ...(has("service_host") && { host: checkHost(raw.service_host, `${at}.service_host`) }),
    ...(has("service_port") && { port: checkPort(raw.service_port, `${at}.service_port`) }),
    ...(has("service_options") && {
      serviceOptions: checkStanzaLines(raw.service_options, `${at}.service_options`),
    }),
    ...(has("server_options") && {
      serverOptions: checkOptionList(raw.server_options, `${at}.server_options`),
    }),
    ...(has("servers") && { servers: parseServers(raw.servers, `${at}.servers`) }),
    ...(has("backends") && { backends: parseBackends(raw.backends, `${at}.backends`) }),
    ...(has("errorfiles") && { errorfiles: parseErrorfiles(raw.errorfiles, `${at}.errorfiles`) }),
    ...(has("crts") && { crts: parseCrts(raw.crts, `${at}.crts`) }),
  };
}

export function parseServers(value: unknown, field: string): ServerSpec[] {
  return checkBoundedList(value, field).map((entry, i) => parseServer(entry, `${field}[${i}]`));
}

function parseServer(value: unknown, field: string): ServerSpec {
  const tuple = checkList(value, field);
  if (tuple.length < 3 || tuple.length > 4) {
    throw new InvalidField(field, `expected [name, host, port, options], got ${describe(value)}`);
  }
  return {
    name: checkName(tuple[0], `${field}.name`),
    address: checkHost(tuple[1], `${field}.host`),
    port: String(checkPort(tuple[2], `${field}.port`)),
    options: parseServerOptions(tuple[3], `${field}.options`),
  };
}

// A server's own options are used as written: a string is one chunk, not a comma list.
function parseServerOptions(value: unknown, field: string): string[] {
  if (typeof value === "string") {
    const line = checkLine(value, field);
    return line === "" ? [] : [line];
  }
  return checkOptionList(value, field);
}

function parseBackends(value: unknown, field: string): BackendSpec[] {
  return checkBoundedList(value, field).map((entry, i) => {
    const raw = checkMapping(entry, `${field}[${i}]`);
    const name = checkName(raw.backend_name, `${field}[${i}].backend_name`);
    return { name, servers: parseServers(raw.servers, `${field}[${i}] (${name}).servers`) };
  });
}

// One file per status: a status given twice keeps the later content, as the
// old charm's second write over the same file did.
function parseErrorfiles(value: unknown, field: string): ErrorfileSpec[] {
  const byStatus = new Map<number, ErrorfileSpec>();
  checkBoundedList(value, field).forEach((entry, i) => {
    const raw = checkMapping(entry, `${field}[${i}]`);
    const status = checkPort(raw.http_status, `${field}[${i}].http_status`);
    if (status < 100 || status > 599) {
      throw new InvalidField(`${field}[${i}].http_status`, `${status} is not an HTTP status`);
    }
    byStatus.set(status, { status, content: decodeBase64(raw.content, `${field}[${i}].content`) });
  });
  return [...byStatus.values()];
}

function parseCrts(value: unknown, field: string): CrtSpec[] {
  return checkBoundedList(value, field).map((entry, i): CrtSpec => {
    const text = checkLine(entry, `${field}[${i}]`);
    if (text === "DEFAULT") return { kind: "default" };
    if (text.startsWith("/")) {
      // Only plain path characters: a `#`, quote or space would end the bind line early.
      if (text.split("/").includes("..") || !/^\/[\w.,+@:=/-]*$/.test(text)) {
        throw new InvalidField(`${field}[${i}]`, `${describe(text)} is not a usable directory`);
      }
      return { kind: "directory", path: text };
    }
    const pem = decodeBase64(text, `${field}[${i}]`);
    const problem = pemBundleProblem(pem);
    if (problem !== undefined) throw new InvalidField(`${field}[${i}]`, PEM_PROBLEMS[problem]);
    return { kind: "inline", pem };
  });
}

function decodeBase64(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "" || !BASE64.test(value)) {
    throw new InvalidField(field, "expected base64-encoded content");
  }
  return Buffer.from(value, "base64").toString("utf8");
}

function checkBoundedList(value: unknown, field: string): readonly unknown[] {
  const list = checkList(value, field);
  if (list.length > MAX_ITEMS) {
    throw new InvalidField(field, `more than ${MAX_ITEMS} entries`);
  }
  return list;
}
