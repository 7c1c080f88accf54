// What the readers of the modern relations' bags (haproxy-route,
// haproxy-route-tcp) share: Canonical's libraries write every value as JSON
// text, an empty or absent key being the field's default; these turn such
// values into typed ones or an InvalidField naming the key, and hold the
// words that reach haproxy.cfg to one safe alphabet.
import { isIP } from "node:net";

import type { RemoteApp, RemoteUnit } from "../juju/hookInputs.js";
import type { RelationSettings } from "../juju/hookTools.js";
import { InvalidField, describe } from "../model/fieldChecks.js";
import type { RelationPolicy } from "../model/relationPolicy.js";
import { compareUnitsOnRelations } from "../model/unitNames.js";
import type { BandwidthLimit, Retry, RouteTarget } from "./haproxyRoute/haproxyRouteRequest.js";

// The library's VALIDSTR refuses whitespace, quotes, "#", "\" and "$": what
// would end, quote, escape, comment out or expand a word of haproxy.cfg. We
// also refuse ";" (it separates commands on the admin socket, where backend
// names go), control characters and anything beyond ASCII (a request's path
// and Host arrive percent- or punycode-encoded, so such a word never matches).
const CONFIG_WORD = /^[\x21-\x7e]+$/;
const UNSAFE_CHARACTER = /["'#\\$;]/;
export const SAFE_WORD_RULE = `printable ASCII without spaces, quotes, "#", "\\", "$" or ";"`;
// Longer words would not leave room on haproxy's 2048-byte lines.
const MAX_WORD = 1024;
// validators.domain (the library's hostname check): dot-separated labels of
// letters, digits and inner "-", a last label of 2-63 ending in a letter, no
// "__"; case-insensitive. The library also takes Unicode names (it checks
// their IDNA form), which we refuse: haproxy compares the Host header, which
// carries the IDNA form, with what is written in haproxy.cfg.
const DOMAIN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9][a-z0-9_-]{0,61}[a-z]$/i;

export const PORT_MAX = 65535;
// haproxy keeps durations in milliseconds in a signed 32-bit int.
export const SECONDS_MAX = 2_147_483;
export const INT_MAX = 2_147_483_647;

/** A JSON object of a bag. */
export type Mapping = Readonly<Record<string, unknown>>;

/** Juju deletes a key set to "": such a key is not written. */
export function written(bag: RelationSettings, key: string): boolean {
  return Object.hasOwn(bag, key) && bag[key] !== "";
}

/**
 * `hosts` when given, else each unit that wrote `address`. Every unit's
 * address is an IP address either way, as the library insists.
 */
export function unitTargets(
  units: readonly RemoteUnit[],
  hosts: readonly string[],
  policy: RelationPolicy,
): RouteTarget[] {
  const targets: RouteTarget[] = [];
  for (const unit of [...units].sort(compareUnitsOnRelations)) {
    const key = `${unit.unit}.address`;
    const value = field(unit.settings, "address", key);
    if (value === undefined) continue;
    const address = ipAddress(value, key);
    if (hosts.length === 0) {
      targets.push({ name: unit.unit, address: policy.backendAddress(address, key) });
    }
  }
  if (hosts.length > 0) return hosts.map((address, i) => ({ name: `host-${i}`, address }));
  return targets;
}

// ---- JSON values ----

/** A bag value: JSON text (the library loads nothing else); undefined when not written. */
export function field(bag: RelationSettings, key: string, label = key): unknown {
  const raw = Object.hasOwn(bag, key) ? bag[key] : undefined;
  if (raw === undefined || raw === "") return undefined;
  if (typeof raw !== "string") throw new InvalidField(label, "expected JSON text");
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new InvalidField(label, `${describe(raw)} is not JSON text`);
  }
}

/** A key of a JSON object; JSON.parse makes every key an own property, "__proto__" too. */
export function member(mapping: Mapping, key: string): unknown {
  return Object.hasOwn(mapping, key) ? mapping[key] : undefined;
}

export function mapping(value: unknown, key: string): Mapping {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidField(key, `expected an object, got ${describe(value)}`);
  }
  return value as Mapping;
}

/** An optional object of the library's: null is none. */
export function optionalMapping(value: unknown, key: string): Mapping | undefined {
  return value === undefined || value === null ? undefined : mapping(value, key);
}

/** An object with defaults of the library's: absent is `{}`, null is refused as the library does. */
export function defaultedMapping(value: unknown, key: string): Mapping {
  return value === undefined ? {} : mapping(value, key);
}

export function list(value: unknown, key: string): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidField(key, `expected a list, got ${describe(value)}`);
  return value;
}

// The library's pydantic also takes "10" or 10.0 for an int and "yes" for a
// bool; its own requirers write JSON numbers and booleans, so we take those only.
export function integer(value: unknown, key: string, min: number, max: number): number {
  if (value === undefined) throw new InvalidField(key, "missing");
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new InvalidField(key, `${describe(value)} is not an integer`);
  }
  if (value < min || value > max) throw new InvalidField(key, `${value} is outside ${min}-${max}`);
  return value;
}

export function optionalInteger(
  value: unknown,
  key: string,
  min: number,
  max: number,
): number | undefined {
  return value === undefined || value === null ? undefined : integer(value, key, min, max);
}

export function flag(value: unknown, key: string, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new InvalidField(key, `${describe(value)} is not true or false`);
  }
  return value;
}

export function oneOf<T extends string>(
  value: unknown,
  key: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  const choice = choices.find((candidate) => candidate === value);
  if (choice === undefined) {
    throw new InvalidField(key, `${describe(value)} is not one of ${choices.join(", ")}`);
  }
  return choice;
}

export function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

// ---- words of haproxy.cfg ----

/** A VALIDSTR of the library, as one word of haproxy.cfg. */
export function configWord(value: unknown, key: string): string {
  if (typeof value !== "string")
    throw new InvalidField(key, `expected text, got ${describe(value)}`);
  if (!CONFIG_WORD.test(value) || UNSAFE_CHARACTER.test(value)) {
    throw new InvalidField(key, `${describe(value)} is not ${SAFE_WORD_RULE}`);
  }
  if (value.length > MAX_WORD) {
    throw new InvalidField(key, `is ${value.length} characters long, over ${MAX_WORD}`);
  }
  return value;
}

/** An IP address, IPv6 without brackets, as the library's IPvAnyAddress takes it. */
export function ipAddress(value: unknown, key: string): string {
  // A zone names an interface of the requirer's machine, meaningless here.
  if (typeof value !== "string" || value.includes("%") || isIP(value) === 0) {
    throw new InvalidField(key, `${describe(value)} is not an IP address`);
  }
  return value;
}

/** A domain name, `*.` in front allowed (not before the last label), lower-cased. */
export function domainName(value: unknown, key: string): string {
  if (typeof value !== "string")
    throw new InvalidField(key, `expected text, got ${describe(value)}`);
  const name = value.startsWith("*.") ? value.slice(2) : value;
  if (name.length > 253 || name.includes("__") || !DOMAIN.test(name)) {
    throw new InvalidField(
      key,
      `${describe(value)} is not a domain name (a "*." wildcard allowed)`,
    );
  }
  return value.toLowerCase();
}

/** An application left out, and why (bad data, or data not written yet). */
export interface SkippedApplication {
  readonly relationId: string;
  readonly app: string;
  readonly reason: string;
  readonly invalid: boolean;
}

/**
 * Each application's bag read on its own, in relation order, with its units.
 * One that has written none of `firstKeys` yet is left out quietly, named by
 * the first (the library writes nothing until it has them); one that `read`
 * finds invalid is left out with the field named.
 */
export function readEachApplication<Candidate>(
  apps: readonly RemoteApp[],
  units: readonly RemoteUnit[],
  firstKeys: readonly [string, ...string[]],
  read: (remote: RemoteApp, units: readonly RemoteUnit[]) => Candidate,
): (Candidate | SkippedApplication)[] {
  const sorted = [...apps].sort((a, b) =>
    compareUnitsOnRelations(
      { relationId: a.relationId, unit: a.app },
      { relationId: b.relationId, unit: b.app },
    ),
  );
  return sorted.map((remote) => {
    const skip = (reason: string, invalid = true): SkippedApplication => ({
      relationId: remote.relationId,
      app: remote.app,
      reason,
      invalid,
    });
    if (!firstKeys.some((key) => written(remote.settings, key))) {
      return skip(`${firstKeys[0]}: not written yet`, false);
    }
    try {
      return read(
        remote,
        units.filter((unit) => unit.relationId === remote.relationId),
      );
    } catch (error) {
      if (!(error instanceof InvalidField)) throw error;
      return skip(error.message);
    }
  });
}

/**
 * Each application's outcome, in order, into the requests served and the
 * applications left out: one read into a request but named in `clashes` is
 * left out with the clash's message.
 */
export function settleClashes<
  Request extends { readonly relationId: string; readonly app: string },
  Candidate extends { readonly request: Request },
  Skipped extends SkippedApplication,
>(
  outcomes: readonly (Candidate | Skipped)[],
  clashes: ReadonlyMap<Candidate, InvalidField>,
): { requests: Request[]; skipped: (Skipped | SkippedApplication)[] } {
  const requests: Request[] = [];
  const skipped: (Skipped | SkippedApplication)[] = [];
  for (const outcome of outcomes) {
    if (!("request" in outcome)) {
      skipped.push(outcome);
      continue;
    }
    const { request } = outcome;
    const clash = clashes.get(outcome);
    if (clash === undefined) requests.push(request);
    else {
      skipped.push({
        relationId: request.relationId,
        app: request.app,
        reason: clash.message,
        invalid: true,
      });
    }
  }
  return { requests, skipped };
}

// ---- Fields both routing relations share ----

/**
 * bandwidth_limit's rates, in bytes per second, from its object: 0 (what the
 * library's requirers write when none is set) or nothing is no limit.
 */
export function bandwidthLimitIn(limit: Mapping): BandwidthLimit | undefined {
  const rate = (name: string) => {
    const bytes = optionalInteger(member(limit, name), `bandwidth_limit.${name}`, 0, INT_MAX);
    return bytes === 0 ? undefined : bytes;
  };
  const upload = rate("upload");
  const download = rate("download");
  if (upload === undefined && download === undefined) return undefined;
  return { ...(upload !== undefined && { upload }), ...(download !== undefined && { download }) };
}

/**
 * rate_limit: connections per minute (the library takes any int; 0 or less
 * would turn every client away) and what to do beyond them, one of `policies`.
 */
export function rateLimitOf<Policy extends string>(
  value: unknown,
  policies: readonly Policy[],
  fallback: Policy,
): { connectionsPerMinute: number; policy: Policy } | undefined {
  const limit = optionalMapping(value, "rate_limit");
  if (limit === undefined) return undefined;
  return {
    connectionsPerMinute: integer(
      member(limit, "connections_per_minute"),
      "rate_limit.connections_per_minute",
      1,
      INT_MAX,
    ),
    policy: oneOf(member(limit, "policy"), "rate_limit.policy", policies, fallback),
  };
}

/** retry: a count (the library takes any int; haproxy refuses a negative `retries`) and redispatch. */
export function retryOf(value: unknown): Retry | undefined {
  const retry = optionalMapping(value, "retry");
  if (retry === undefined) return undefined;
  return {
    count: integer(member(retry, "count"), "retry.count", 0, INT_MAX),
    redispatch: flag(member(retry, "redispatch"), "retry.redispatch"),
  };
}
