// The CA certificates applications send on `receive-ca-certs` (interface
// certificate_transfer), read from their bags into one PEM bundle that
// haproxy verifies HTTPS backends against. A v1 provider's leader writes
// `certificates` (a JSON list of PEM) in its app bag; a v0 provider's units
// write `ca`, `certificate` (PEM, plain or as JSON text) and `chain` (a JSON
// list). Both are read, from every relation: the union is trusted. The
// bundle is rebuilt from the parsed certificates, so nothing but
// certificates reaches the file haproxy loads; a value that is not
// certificates is left out whole, named in a warning.
import { X509Certificate } from "node:crypto";

import type { RemoteApp, RemoteUnit } from "../../juju/hookInputs.js";
import { InvalidField } from "../../model/fieldChecks.js";
import { appOfUnit, compareUnitsOnRelations } from "../../model/unitNames.js";

export interface ReceivedCas {
  /** Each certificate once, ordered by SHA-256 fingerprint, as one PEM text; "" without any. */
  readonly bundle: string;
  readonly count: number;
  /** Values left out, each naming the application, the relation and the key. */
  readonly warnings: readonly string[];
}

/** The keys a v0 provider's units write, each holding PEM text or a JSON list of it. */
const UNIT_KEYS = ["ca", "certificate", "chain"] as const;
/** The key of a v1 provider's app bag. */
const APP_KEY = "certificates";
/** A bag value longer than this is not a set of CA certificates (a whole public bundle is ~250 KiB). */
const MAX_VALUE = 1024 * 1024;

const PEM_BLOCK = /-----BEGIN ([^\r\n-]{1,40})-----\r?\n[\s\S]*?-----END \1-----/g;

export function readReceivedCas(
  apps: readonly RemoteApp[],
  units: readonly RemoteUnit[],
): ReceivedCas {
  const byFingerprint = new Map<string, X509Certificate>();
  const warnings: string[] = [];
  const leaveOut = (source: string, error: unknown) => {
    if (!(error instanceof InvalidField)) throw error;
    warnings.push(`receive-ca-certs ${source}: ${error.message}; left out`);
  };
  // Each PEM text on its own: one bad entry of a list leaves the others trusted.
  const take = (source: string, key: string, value: string | undefined) => {
    if (value === undefined || value === "") return;
    let texts: [field: string, text: string][];
    try {
      texts = pemTexts(value, key);
    } catch (error) {
      return leaveOut(source, error);
    }
    for (const [field, text] of texts) {
      try {
        for (const certificate of certificatesIn(text, field)) {
          byFingerprint.set(certificate.fingerprint256, certificate);
        }
      } catch (error) {
        leaveOut(source, error);
      }
    }
  };
  const sortedApps = [...apps].sort((a, b) =>
    compareUnitsOnRelations(
      { relationId: a.relationId, unit: a.app },
      { relationId: b.relationId, unit: b.app },
    ),
  );
  for (const { relationId, app, settings } of sortedApps) {
    take(`application ${app} (${relationId})`, APP_KEY, settings[APP_KEY]);
  }
  for (const { relationId, unit, settings } of [...units].sort(compareUnitsOnRelations)) {
    for (const key of UNIT_KEYS) {
      take(`application ${appOfUnit(unit)}, unit ${unit} (${relationId})`, key, settings[key]);
    }
  }
  const certificates = [...byFingerprint.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, certificate]) => certificate);
  return {
    bundle: certificates.map(pemOf).join(""),
    count: certificates.length,
    warnings,
  };
}

/**
 * The PEM texts a value holds: v1 and the v0 `chain` write a JSON list,
 * the v1 library's v0 fallback writes `ca` and `certificate` as JSON
 * strings, and v0 providers write them as plain PEM.
 */
function pemTexts(value: string, key: string): [field: string, text: string][] {
  if (value.length > MAX_VALUE) throw new InvalidField(key, "is over 1 MiB");
  let decoded: unknown;
  try {
    decoded = JSON.parse(value);
  } catch {
    return [[key, value]];
  }
  if (typeof decoded === "string") return [[key, decoded]];
  if (Array.isArray(decoded) && decoded.every((entry) => typeof entry === "string")) {
    return decoded.map((text, i) => [`${key}[${i}]`, text]);
  }
  throw new InvalidField(key, "is neither PEM text nor a JSON list of it");
}

/** Every certificate of one PEM text; InvalidField when any part of it is not one. */
function certificatesIn(text: string, field: string): X509Certificate[] {
  // A private key has no business here: refused whatever else comes with it.
  if (text.includes("PRIVATE KEY")) throw new InvalidField(field, "holds a private key");
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) throw new InvalidField(field, "holds no PEM certificate");
  if (text.replace(PEM_BLOCK, "").trim() !== "") {
    throw new InvalidField(field, "holds text outside its PEM blocks");
  }
  return blocks.map(([block, label]) => {
    if (label !== "CERTIFICATE")
      throw new InvalidField(field, `holds a ${label}, not a certificate`);
    try {
      return new X509Certificate(block);
    } catch {
      throw new InvalidField(field, "holds a PEM certificate that does not parse");
    }
  });
}

function pemOf(certificate: X509Certificate): string {
  const pem = certificate.toString();
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}
