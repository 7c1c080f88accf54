// What a unit keeps for the certificates relation, in its state directory
// (0700): its private key (made once, 0600, never leaving the machine), the
// CSR it sent last for each hostname, and the certificate it serves for each.
// Also makes CSRs with openssl, which reads the key from its file, never
// from argv.
//
// The request and certificate files each hold `{"version": 2, "requests":
// [...]}` / `{"version": 2, "certificates": [...]}`, one entry per hostname,
// replaced in one rename. A file of the one-hostname charm (a bare entry)
// reads as a list of one; an empty list removes the file.
import { createPrivateKey, generateKeyPairSync, randomUUID } from "node:crypto";
import { mkdir, unlink } from "node:fs/promises";
import path from "node:path";

import { isMissingFileError, readIfExists, writeFileAtomic } from "../../lib/atomicFile.js";
import { ApplyError } from "../../lib/errors.js";
import { stateFilePath } from "../../stateFiles.js";
import type { HeldCertificate, SentRequest } from "./certificateLifecycle.js";

/** The files' format: 2 holds a list per file (1, a bare entry, still reads). */
const STATE_VERSION = 2;

export interface UnitKey {
  readonly pem: string;
  readonly file: string;
  /** Made in this hook: nothing sent or held before belongs to it. */
  readonly created: boolean;
}

export class UnitCertificateStore {
  /** `charmState`: the charm's state directory (stateFiles.ts names the files). */
  constructor(private readonly charmState: string) {}

  private get keyFile(): string {
    return stateFilePath(this.charmState, "certificateKey");
  }
  private get requestFile(): string {
    return stateFilePath(this.charmState, "certificateRequest");
  }
  private get certificateFile(): string {
    return stateFilePath(this.charmState, "heldCertificate");
  }

  /** The unit's key, made on first use: RSA 2048, e=65537, as the library makes it. */
  async key(): Promise<UnitKey> {
    const existing = await readIfExists(this.keyFile);
    if (existing !== undefined && usableKey(existing))
      return { pem: existing, file: this.keyFile, created: false };
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicExponent: 0x10001,
    });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await this.write(this.keyFile, pem);
    return { pem, file: this.keyFile, created: true };
  }

  /** The CSR sent last for each hostname. */
  async sentRequests(): Promise<SentRequest[]> {
    return entriesOf(await this.readJson(this.requestFile), "requests", asSentRequest);
  }

  /** The certificate held for each hostname. */
  async heldCertificates(): Promise<HeldCertificate[]> {
    return entriesOf(await this.readJson(this.certificateFile), "certificates", asHeldCertificate);
  }

  async saveRequests(requests: readonly SentRequest[]): Promise<void> {
    await this.saveOrRemove(this.requestFile, "requests", requests);
  }

  async saveCertificates(certificates: readonly HeldCertificate[]): Promise<void> {
    await this.saveOrRemove(this.certificateFile, "certificates", certificates);
  }

  /** A CSR for `hostname`: CN and one DNS subjectAltName, plus a fresh x500UniqueIdentifier. */
  async makeRequest(key: UnitKey, hostname: string): Promise<string> {
    // Loaded when needed: importing execa costs as much CPU as starting node.
    const { execa } = await import("execa");
    const result = await execa(
      "openssl",
      [
        "req",
        "-new",
        "-sha256",
        "-key",
        key.file,
        "-subj",
        `/CN=${hostname}/x500UniqueIdentifier=${randomUUID()}`,
        "-addext",
        `subjectAltName=DNS:${hostname}`,
      ],
      { reject: false, all: true, stdin: "ignore" },
    );
    if (result.exitCode !== 0 || !result.stdout.includes("BEGIN CERTIFICATE REQUEST")) {
      throw new ApplyError(`openssl could not make a certificate request: ${result.all ?? ""}`);
    }
    return `${result.stdout.trim()}\n`;
  }

  private async saveOrRemove(
    file: string,
    listName: string,
    entries: readonly object[],
  ): Promise<void> {
    if (entries.length === 0) {
      await unlink(file).catch((error: unknown) => {
        if (!isMissingFileError(error)) throw error;
      });
      return;
    }
    await this.write(file, JSON.stringify({ version: STATE_VERSION, [listName]: entries }));
  }

  private async write(file: string, content: string): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, content, { mode: 0o600 });
  }

  // A garbled file is as good as none: the next hook makes it again.
  private async readJson(file: string): Promise<unknown> {
    const text = await readIfExists(file);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }
}

function usableKey(pem: string): boolean {
  try {
    const key = createPrivateKey(pem);
    return (
      key.asymmetricKeyType === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
    );
  } catch {
    return false;
  }
}

/**
 * The entries of a state file: its list, or the one bare entry an older
 * charm wrote. Entries that do not read are left out, and a hostname kept once.
 */
function entriesOf<T extends { readonly hostname: string }>(
  value: unknown,
  listName: string,
  read: (entry: unknown) => T | undefined,
): T[] {
  if (!isObject(value)) return [];
  const list = Array.isArray(value[listName]) ? (value[listName] as unknown[]) : [value];
  const byHostname = new Map<string, T>();
  for (const entry of list.map(read)) {
    if (entry !== undefined && !byHostname.has(entry.hostname)) {
      byHostname.set(entry.hostname, entry);
    }
  }
  return [...byHostname.values()];
}

function asSentRequest(value: unknown): SentRequest | undefined {
  return isObject(value) &&
    typeof value.hostname === "string" &&
    typeof value.csr === "string" &&
    typeof value.createdAt === "number"
    ? { hostname: value.hostname, csr: value.csr, createdAt: value.createdAt }
    : undefined;
}

function asHeldCertificate(value: unknown): HeldCertificate | undefined {
  return isObject(value) &&
    typeof value.hostname === "string" &&
    typeof value.csr === "string" &&
    typeof value.pem === "string" &&
    typeof value.notBefore === "number" &&
    typeof value.notAfter === "number"
    ? {
        hostname: value.hostname,
        csr: value.csr,
        pem: value.pem,
        notBefore: value.notBefore,
        notAfter: value.notAfter,
      }
    : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
