// What a unit keeps for the certificates relation, in its state directory
// (0700): its private key (made once, 0600, never leaving the machine), the
// CSR it sent last, and the certificate it serves. Also makes CSRs with
// openssl, which reads the key from its file, never from argv.
import { createPrivateKey, generateKeyPairSync, randomUUID } from "node:crypto";
import { mkdir, unlink } from "node:fs/promises";
import path from "node:path";

import { isMissingFileError, readIfExists, writeFileAtomic } from "../../lib/atomicFile.js";
import { ApplyError } from "../../lib/errors.js";
import { stateFilePath } from "../../stateFiles.js";
import type { HeldCertificate, SentRequest } from "./certificateLifecycle.js";

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

  async sentRequest(): Promise<SentRequest | undefined> {
    const value = await this.readJson(this.requestFile);
    return isObject(value) &&
      typeof value.hostname === "string" &&
      typeof value.csr === "string" &&
      typeof value.createdAt === "number"
      ? { hostname: value.hostname, csr: value.csr, createdAt: value.createdAt }
      : undefined;
  }

  async heldCertificate(): Promise<HeldCertificate | undefined> {
    const value = await this.readJson(this.certificateFile);
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

  async saveRequest(request: SentRequest | undefined): Promise<void> {
    await this.saveOrRemove(this.requestFile, request);
  }

  async saveCertificate(certificate: HeldCertificate | undefined): Promise<void> {
    await this.saveOrRemove(this.certificateFile, certificate);
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

  private async saveOrRemove(file: string, value: object | undefined): Promise<void> {
    if (value === undefined) {
      await unlink(file).catch((error: unknown) => {
        if (!isMissingFileError(error)) throw error;
      });
      return;
    }
    await this.write(file, JSON.stringify(value));
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
