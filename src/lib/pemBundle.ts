// haproxy wants a certificate and its private key in one PEM file. Checking
// the pair here turns haproxy's late, cryptic refusal into a clear message.
import { X509Certificate, createPrivateKey } from "node:crypto";

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const PRIVATE_KEY =
  /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/;

export type PemBundleProblem = "certificate" | "key" | "mismatch";

export const PEM_PROBLEMS: Readonly<Record<PemBundleProblem, string>> = {
  certificate: "holds no valid PEM certificate",
  key: "holds no valid unencrypted PEM private key",
  mismatch: "holds a private key that does not match its certificate",
};

/** What is wrong with a certificate + key bundle, or undefined when haproxy can use it. */
export function pemBundleProblem(pem: string): PemBundleProblem | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(CERTIFICATE.exec(pem)?.[0] ?? "");
  } catch {
    return "certificate";
  }
  try {
    const key = createPrivateKey(PRIVATE_KEY.exec(pem)?.[0] ?? "");
    return certificate.checkPrivateKey(key) ? undefined : "mismatch";
  } catch {
    return "key";
  }
}

/** Only the certificate of a bundle: what may be shown to related applications. */
export function certificateOnly(pem: string): string | undefined {
  return CERTIFICATE.exec(pem)?.[0];
}
