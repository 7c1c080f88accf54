// `ssl_cert=SELFSIGNED`: a certificate for the unit's own addresses, made
// with openssl once and kept until the addresses change.
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { readIfExists, writeFileAtomic } from "../lib/atomicFile.js";
import { ApplyError } from "../lib/errors.js";

export interface UnitAddresses {
  readonly publicAddress: string;
  readonly privateAddress: string;
}

/** The certificate and key as one PEM, kept in `file`; generated when missing or stale. */
export async function selfSignedPem(file: string, addresses: UnitAddresses): Promise<string> {
  const existing = await readIfExists(file);
  if (existing !== undefined && coversAddresses(existing, addresses)) return existing;
  const pem = await generate(addresses);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, pem, { mode: 0o600 });
  return pem;
}

export function coversAddresses(pem: string, addresses: UnitAddresses): boolean {
  try {
    const certificate = new X509Certificate(pem);
    const names = (certificate.subjectAltName ?? "").split(",").map((name) => name.trim());
    const wanted = new Set([addresses.publicAddress, addresses.privateAddress]);
    return (
      certificate.subject.split("\n").includes(`CN=${addresses.publicAddress}`) &&
      [...wanted].every((address) => names.includes(subjectAltName(address)))
    );
  } catch {
    return false;
  }
}

function subjectAltName(address: string): string {
  return isIP(address) ? `IP Address:${address}` : `DNS:${address}`;
}

async function generate(addresses: UnitAddresses): Promise<string> {
  const names = [...new Set([addresses.publicAddress, addresses.privateAddress])]
    .map((address) => (isIP(address) ? `IP:${address}` : `DNS:${address}`))
    .join(",");
  // mkdtemp makes a 0700 directory: the fresh key is never readable by others.
  const dir = await mkdtemp(path.join(tmpdir(), "haproxy-selfsigned-"));
  try {
    const keyFile = path.join(dir, "key.pem");
    const certificateFile = path.join(dir, "cert.pem");
    // The key is written to a file by openssl, never passed through argv.
    // Loaded when needed: importing execa costs as much CPU as starting node.
    const { execa } = await import("execa");
    const result = await execa(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-keyout",
        keyFile,
        "-out",
        certificateFile,
        "-subj",
        `/CN=${addresses.publicAddress}`,
        "-addext",
        `subjectAltName=${names}`,
      ],
      { reject: false, all: true },
    );
    if (result.exitCode !== 0) {
      throw new ApplyError(`openssl could not make a self-signed certificate: ${result.all ?? ""}`);
    }
    return `${await readFile(certificateFile, "utf8")}${await readFile(keyFile, "utf8")}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
