// Real certificates made by openssl, for tests of TLS handling.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface TestCertificate {
  readonly certificate: string;
  readonly key: string;
  /** Certificate then key, as haproxy reads them. */
  readonly pem: string;
  readonly base64Certificate: string;
  readonly base64Key: string;
}

/** A self-signed certificate for `commonName` (EC P-256: fast to make). */
export function makeCertificate(
  commonName: string,
  altNames = `DNS:${commonName}`,
): TestCertificate {
  const dir = mkdtempSync(path.join(tmpdir(), "test-cert-"));
  try {
    const keyFile = path.join(dir, "key.pem");
    const certificateFile = path.join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "30",
        "-subj",
        `/CN=${commonName}`,
        "-addext",
        `subjectAltName=${altNames}`,
        "-keyout",
        keyFile,
        "-out",
        certificateFile,
      ],
      { stdio: "ignore" },
    );
    const certificate = readFileSync(certificateFile, "utf8");
    const key = readFileSync(keyFile, "utf8");
    return {
      certificate,
      key,
      pem: certificate + key,
      base64Certificate: Buffer.from(certificate).toString("base64"),
      base64Key: Buffer.from(key).toString("base64"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
