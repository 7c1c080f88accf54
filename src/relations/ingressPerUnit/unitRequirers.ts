// What the units related on `ingress-per-unit` ask for, read from their own
// bags into typed requests. Every unit writes its request itself, as plain
// strings (not JSON): `model`, `name` (its unit name, `app/0`), `host` and
// `port`, optionally `mode`, `strip-prefix`, `redirect-https` and `scheme`.
// A bag that does not validate leaves that unit out, named with the field;
// every other unit is served.
import { isIP } from "node:net";

import type { RemoteUnit } from "../../juju/hookInputs.js";
import type { RelationSettings } from "../../juju/hookTools.js";
import { InvalidField, describe } from "../../model/fieldChecks.js";
import { RelationPolicy } from "../../model/relationPolicy.js";
import { compareUnitsOnRelations } from "../../model/unitNames.js";

export type UnitMode = "http" | "tcp";

export interface UnitRequest {
  readonly relationId: string;
  /** The remote unit as Juju names it on this side. */
  readonly unit: string;
  /** The requirer's model and unit name, as its bag says: the route is `/<model>-<app>-<n>`. */
  readonly model: string;
  readonly name: string;
  /** The unit's address, accepted by the relation policy (IPv6 bracketed). */
  readonly address: string;
  readonly port: number;
  readonly mode: UnitMode;
  readonly stripPrefix: boolean;
  readonly redirectHttps: boolean;
  /** How haproxy speaks to the unit. */
  readonly scheme: "http" | "https";
}

/** A unit left out, and why. */
export interface SkippedUnitRequest {
  readonly relationId: string;
  readonly unit: string;
  readonly reason: string;
  /** Bad data (a warning) rather than data not written yet (informational). */
  readonly invalid: boolean;
}

export interface UnitRequests {
  /** In relation id, then unit order. */
  readonly requests: readonly UnitRequest[];
  readonly skipped: readonly SkippedUnitRequest[];
}

// Juju model names.
const MODEL_NAME = /^[a-z0-9-]{1,63}$/;
// Juju unit names: an application name and a unit number.
const UNIT_NAME = /^[a-z][a-z0-9-]{0,62}\/(0|[1-9][0-9]{0,8})$/;
// DNS names: letters, digits, "-" and "_" in dot-separated labels.
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$/;
const PORT = /^[0-9]{1,5}$/;
const REQUIRED = ["model", "name", "host", "port"] as const;

/** `/<model>-<app>-<n>` without its slash: the route's path and its backend's name. */
export function unitRouteName(request: Pick<UnitRequest, "model" | "name">): string {
  return `${request.model}-${request.name.replace("/", "-")}`;
}

export function readUnitRequests(
  units: readonly RemoteUnit[],
  policy: RelationPolicy = new RelationPolicy({ trusted: false }),
): UnitRequests {
  const requests: UnitRequest[] = [];
  const skipped: SkippedUnitRequest[] = [];
  const routes = new Map<string, string>();
  for (const remote of [...units].sort(compareUnitsOnRelations)) {
    const skip = (reason: string, invalid = true) =>
      skipped.push({ relationId: remote.relationId, unit: remote.unit, reason, invalid });
    if (REQUIRED.every((key) => field(remote.settings, key) === undefined)) {
      skip("its unit data is not written yet", false);
      continue;
    }
    try {
      const request = readRequest(remote, policy);
      const route = unitRouteName(request);
      const taken = routes.get(route);
      if (taken !== undefined) {
        throw new InvalidField("name", `the route /${route} is already taken by ${taken}`);
      }
      routes.set(route, remote.unit);
      requests.push(request);
    } catch (error) {
      if (!(error instanceof InvalidField)) throw error;
      skip(error.message);
    }
  }
  return { requests, skipped };
}

function readRequest(remote: RemoteUnit, policy: RelationPolicy): UnitRequest {
  const bag = remote.settings;
  const model = matching(field(bag, "model"), "model", MODEL_NAME, "1-63 of [a-z0-9-]");
  const name = matching(field(bag, "name"), "name", UNIT_NAME, "a unit name such as app/0");
  const host = hostValue(field(bag, "host"), "host");
  return {
    relationId: remote.relationId,
    unit: remote.unit,
    model,
    name,
    address: policy.backendAddress(host, "host"),
    port: portNumber(field(bag, "port")),
    mode: oneOf(field(bag, "mode"), "mode", ["http", "tcp"] as const, "http"),
    stripPrefix: flag(field(bag, "strip-prefix"), "strip-prefix"),
    redirectHttps: flag(field(bag, "redirect-https"), "redirect-https"),
    scheme: oneOf(field(bag, "scheme"), "scheme", ["http", "https"] as const, "http"),
  };
}

/** A bag value; an empty one is an absent key, as Juju deletes keys set to "". */
function field(bag: RelationSettings, key: string): string | undefined {
  const raw = bag[key];
  return raw === undefined || raw === "" ? undefined : raw;
}

function matching(value: string | undefined, key: string, pattern: RegExp, what: string): string {
  if (value === undefined) throw new InvalidField(key, "missing");
  if (!pattern.test(value)) throw new InvalidField(key, `${describe(value)} is not ${what}`);
  return value;
}

function portNumber(value: string | undefined): number {
  if (value === undefined) throw new InvalidField("port", "missing");
  const port = PORT.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new InvalidField("port", `${describe(value)} is not a port number (1-65535)`);
  }
  return port;
}

// The requirer library writes "true" or "false"; anything else is a mistake, not false.
function flag(value: string | undefined, key: string): boolean {
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new InvalidField(key, `${describe(value)} is not "true" or "false"`);
}

function oneOf<T extends string>(
  value: string | undefined,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  const found = allowed.find((option) => option === value);
  if (found === undefined) {
    throw new InvalidField(key, `${describe(value)} is not ${allowed.join(" or ")}`);
  }
  return found;
}

/** An IP address (IPv6 bracketed, as haproxy reads it before a port) or a DNS name. */
function hostValue(value: string | undefined, key: string): string {
  if (value === undefined) throw new InvalidField(key, "missing");
  const bare = value.startsWith("[") && value.endsWith("]") ? value.slice(1, -1) : value;
  if (isIP(bare) === 6) return `[${bare}]`;
  if (isIP(bare) === 4 || HOST_NAME.test(value)) return value;
  throw new InvalidField(key, `${describe(value)} is not a host name or IP address`);
}
