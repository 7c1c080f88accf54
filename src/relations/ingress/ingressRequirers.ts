// What the applications related on `ingress` (interface ingress, v2) ask
// for, read from their bags into typed requests. Their leader writes the app
// bag (model, name, port, options), each unit its own `host` and `ip`; every
// value is JSON text. A bag that does not validate leaves that application
// out, named with the field, and everything else is served.
import { isIP } from "node:net";

import type { RemoteApp, RemoteUnit } from "../../juju/hookInputs.js";
import type { RelationSettings } from "../../juju/hookTools.js";
import { InvalidField, describe } from "../../model/fieldChecks.js";
import { compareUnitsOnRelations } from "../../model/unitNames.js";
import { RelationPolicy } from "../../model/relationPolicy.js";

export type UpstreamScheme = "http" | "https" | "h2c";

export interface HealthCheck {
  readonly path: string;
  readonly scheme?: "http" | "https";
  readonly hostname?: string;
  readonly port?: number;
  /** haproxy time values, e.g. `30s`. */
  readonly interval: string;
  readonly timeout: string;
}

export interface IngressUnit {
  readonly unit: string;
  /** `ip` when the unit wrote one, else `host`. */
  readonly address: string;
}

export interface IngressRequest {
  readonly relationId: string;
  /** The remote application as Juju names it. */
  readonly app: string;
  /** The requirer's model and application, as its bag says: the route is `/<model>-<name>`. */
  readonly model: string;
  readonly name: string;
  readonly port: number;
  readonly stripPrefix: boolean;
  readonly redirectHttps: boolean;
  readonly scheme: UpstreamScheme;
  readonly healthcheck?: HealthCheck;
  /** Units that wrote `host`, in unit order. */
  readonly units: readonly IngressUnit[];
  /** Every related unit has written `host`: the URL may be published. */
  readonly ready: boolean;
}

/** An application left out, and why. */
export interface SkippedApp {
  readonly relationId: string;
  readonly app: string;
  readonly reason: string;
  /** Bad data (a warning) rather than data not written yet (informational). */
  readonly invalid: boolean;
}

export interface IngressRequests {
  readonly requests: readonly IngressRequest[];
  readonly skipped: readonly SkippedApp[];
}

// Juju model and application names.
const JUJU_NAME = /^[a-z0-9-]{1,63}$/;
// DNS names: letters, digits, "-" and "_" in dot-separated labels.
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$/;
const TIME = /^\d{1,9}(us|ms|s|m|h|d)?$/;
// A URL path and query, without what haproxy would read as quotes, escapes or a comment.
const PATH = /^\/[A-Za-z0-9._~!$&()*+,;=:@%/?-]{0,1023}$/;

export function readIngressRequests(
  apps: readonly RemoteApp[],
  units: readonly RemoteUnit[],
  policy: RelationPolicy = new RelationPolicy({ trusted: false }),
): IngressRequests {
  const requests: IngressRequest[] = [];
  const skipped: SkippedApp[] = [];
  const routes = new Map<string, string>();
  for (const remote of [...apps].sort((a, b) =>
    compareUnitsOnRelations(
      { relationId: a.relationId, unit: a.app },
      { relationId: b.relationId, unit: b.app },
    ),
  )) {
    const skip = (reason: string, invalid = true) =>
      skipped.push({ relationId: remote.relationId, app: remote.app, reason, invalid });
    if (!("model" in remote.settings) && !("name" in remote.settings)) {
      skip("its application data is not written yet", false);
      continue;
    }
    try {
      const request = readRequest(
        remote,
        units.filter((unit) => unit.relationId === remote.relationId),
        policy,
      );
      const route = `${request.model}-${request.name}`;
      const taken = routes.get(route);
      if (taken !== undefined) {
        throw new InvalidField("name", `the route /${route} is already taken by ${taken}`);
      }
      routes.set(route, remote.app);
      requests.push(request);
    } catch (error) {
      if (!(error instanceof InvalidField)) throw error;
      skip(error.message);
    }
  }
  return { requests, skipped };
}

function readRequest(
  remote: RemoteApp,
  units: readonly RemoteUnit[],
  policy: RelationPolicy,
): IngressRequest {
  const bag = remote.settings;
  const model = jujuName(field(bag, "model"), "model");
  const name = jujuName(field(bag, "name"), "name");
  const port = portNumber(field(bag, "port"), "port");
  const stripPrefix = flag(field(bag, "strip-prefix"), "strip-prefix");
  const redirectHttps = flag(field(bag, "redirect-https"), "redirect-https");
  const scheme = upstreamScheme(field(bag, "scheme"));
  const healthcheck = healthCheck(field(bag, "healthcheck_params"));

  const sorted = [...units].sort(compareUnitsOnRelations);
  const served: IngressUnit[] = [];
  for (const unit of sorted) {
    const ip = field(unit.settings, "ip");
    const host = field(unit.settings, "host");
    if (host === undefined && ip === undefined) continue;
    const useIp = ip !== undefined && ip !== "";
    const key = `${unit.unit}.${useIp ? "ip" : "host"}`;
    const address = hostValue(useIp ? ip : host, key);
    served.push({ unit: unit.unit, address: policy.backendAddress(address, key) });
  }
  return {
    relationId: remote.relationId,
    app: remote.app,
    model,
    name,
    port,
    stripPrefix,
    redirectHttps,
    scheme,
    ...(healthcheck !== undefined && { healthcheck }),
    units: served,
    ready: served.length > 0 && served.length === sorted.length,
  };
}

/**
 * A bag value: JSON text, or, from very old requirers, a bare string. An
 * empty value is an absent key, as Juju deletes keys set to "".
 */
function field(bag: RelationSettings, key: string): unknown {
  const raw = bag[key];
  if (raw === undefined || raw === "") return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function jujuName(value: unknown, key: string): string {
  if (value === undefined) throw new InvalidField(key, "missing");
  if (typeof value !== "string" || !JUJU_NAME.test(value)) {
    throw new InvalidField(key, `${describe(value)} is not 1-63 of [a-z0-9-]`);
  }
  return value;
}

function portNumber(value: unknown, key: string): number {
  if (value === undefined) throw new InvalidField(key, "missing");
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new InvalidField(key, `${describe(value)} is not an integer`);
  }
  if (value < 1 || value > 65535) throw new InvalidField(key, `${value} is outside 1-65535`);
  return value;
}

function flag(value: unknown, key: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean")
    throw new InvalidField(key, `${describe(value)} is not true or false`);
  return value;
}

function upstreamScheme(value: unknown): UpstreamScheme {
  if (value === undefined) return "http";
  if (value === "http" || value === "https" || value === "h2c") return value;
  throw new InvalidField("scheme", `${describe(value)} is not http, https or h2c`);
}

/** An IP address (IPv6 bracketed, as haproxy reads it before a port) or a DNS name. */
function hostValue(value: unknown, key: string): string {
  if (typeof value === "string") {
    const bare = value.startsWith("[") && value.endsWith("]") ? value.slice(1, -1) : value;
    if (isIP(bare) === 6) return `[${bare}]`;
    if (isIP(bare) === 4 || HOST_NAME.test(value)) return value;
  }
  throw new InvalidField(key, `${describe(value)} is not a host name or IP address`);
}

function timeValue(value: unknown, key: string, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "string" || !TIME.test(value)) {
    throw new InvalidField(key, `${describe(value)} is not a duration such as 30s`);
  }
  return value;
}

function healthCheck(value: unknown): HealthCheck | undefined {
  if (value === undefined || value === null) return undefined;
  const key = "healthcheck_params";
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidField(key, `expected an object, got ${describe(value)}`);
  }
  const params = value as Record<string, unknown>;
  const { path, scheme, hostname, port } = params;
  if (typeof path !== "string" || !PATH.test(path)) {
    throw new InvalidField(`${key}.path`, `${describe(path)} is not an absolute path`);
  }
  if (scheme !== undefined && scheme !== null && scheme !== "http" && scheme !== "https") {
    throw new InvalidField(`${key}.scheme`, `${describe(scheme)} is not http or https`);
  }
  return {
    path,
    ...(typeof scheme === "string" && { scheme: scheme as "http" | "https" }),
    ...(hostname !== undefined &&
      hostname !== null && { hostname: hostValue(hostname, `${key}.hostname`) }),
    ...(port !== undefined && port !== null && { port: portNumber(port, `${key}.port`) }),
    interval: timeValue(params.interval, `${key}.interval`, "30s"),
    timeout: timeValue(params.timeout, `${key}.timeout`, "5s"),
  };
}
