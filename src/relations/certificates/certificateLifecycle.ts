// Which certificate a unit serves and whether it must ask for a new one:
// a pure decision over what the unit remembers and what the provider says.
// The library's rules: take an entry only for our CSR and our key; renew
// (same key, fresh CSR) once 90 % of the validity has passed; a revoked
// certificate is dropped and asked for again. Beyond them, a certificate is
// taken only while it is valid and names the host we asked for: a provider
// that sends anything else leaves the previous one serving.
import { type KeyObject, X509Certificate } from "node:crypto";

import { type ProviderCertificate, sameRequest } from "./providerCertificates.js";

/** The CSR this unit sent last. */
export interface SentRequest {
  readonly hostname: string;
  readonly csr: string;
  /** When it was made, in ms since the epoch. */
  readonly createdAt: number;
}

/** The certificate this unit serves, remembered between hooks (no key inside). */
export interface HeldCertificate {
  readonly hostname: string;
  /** The CSR it answered: a renewal is pending once another CSR went out. */
  readonly csr: string;
  /** Leaf, then the chain without the leaf. */
  readonly pem: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface LifecycleInput {
  /** external_hostname; empty means: ask for nothing, serve nothing. */
  readonly hostname: string;
  readonly sent?: SentRequest;
  readonly held?: HeldCertificate;
  readonly offered: readonly ProviderCertificate[];
  readonly key: KeyObject;
  readonly now: number;
}

export interface LifecycleDecision {
  readonly held?: HeldCertificate;
  /** A fresh CSR for `hostname` must be made and sent. */
  readonly newRequest: boolean;
  readonly warnings: readonly string[];
}

const RENEW_AT = 0.9;

export function renewalTime(certificate: Pick<HeldCertificate, "notBefore" | "notAfter">): number {
  return certificate.notBefore + RENEW_AT * (certificate.notAfter - certificate.notBefore);
}

/** Past 90 % of its validity, and the CSR out there is still the one it answered. */
export function renewalPending(
  held: HeldCertificate,
  sent: SentRequest | undefined,
  now: number,
): boolean {
  return now >= renewalTime(held) && (sent === undefined || sameRequest(sent.csr, held.csr));
}

export function decideCertificate(input: LifecycleInput): LifecycleDecision {
  const { hostname, sent, offered, key, now } = input;
  if (hostname === "") return { newRequest: false, warnings: [] };
  const warnings: string[] = [];
  // A certificate for another host name is of no use once external_hostname changed.
  let held = input.held?.hostname === hostname ? input.held : undefined;
  if (sent === undefined || sent.hostname !== hostname) {
    return { ...(held && { held }), newRequest: true, warnings };
  }

  let revoked = false;
  for (const entry of offered.filter((candidate) => sameRequest(candidate.csr, sent.csr))) {
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(entry.certificate);
    } catch {
      warnings.push("the provider's certificate for our request does not parse; ignored");
      continue;
    }
    if (entry.revoked) {
      warnings.push(
        `the provider revoked our certificate (serial ${leaf.serialNumber}); asking for a new one`,
      );
      if (held !== undefined && held.pem.startsWith(normalPem(entry.certificate))) held = undefined;
      revoked = true;
      continue;
    }
    if (!leaf.checkPrivateKey(key)) {
      warnings.push(
        `the provider's certificate for our request (serial ${leaf.serialNumber}) does not match our private key; ignored`,
      );
      continue;
    }
    const notBefore = Date.parse(leaf.validFrom);
    const notAfter = Date.parse(leaf.validTo);
    if (!(notBefore <= now && now < notAfter)) {
      warnings.push(
        `the provider's certificate for our request (serial ${leaf.serialNumber}) is not valid now ` +
          `(from ${leaf.validFrom} to ${leaf.validTo}); ignored`,
      );
      continue;
    }
    // The CSR asked for the name in its CN and its DNS subjectAltName.
    if (leaf.checkHost(hostname) === undefined) {
      warnings.push(
        `the provider's certificate for our request (serial ${leaf.serialNumber}) is not for ${hostname}; ignored`,
      );
      continue;
    }
    held = { hostname, csr: sent.csr, pem: certificateChain(entry), notBefore, notAfter };
  }
  const renewalDue = held !== undefined && renewalPending(held, sent, now);
  return { ...(held && { held }), newRequest: revoked || renewalDue, warnings };
}

/** The leaf, then the rest of the chain (or the CA when there is no chain), one PEM each. */
function certificateChain(entry: ProviderCertificate): string {
  const leaf = normalPem(entry.certificate);
  const rest = (entry.chain.length > 0 ? entry.chain : entry.ca ? [entry.ca] : [])
    .map(normalPem)
    .filter((pem) => pem !== leaf);
  return [leaf, ...new Set(rest)].join("");
}

function normalPem(pem: string): string {
  return `${pem.trim().replace(/\r\n/g, "\n")}\n`;
}
