// The provider's side of `tls-certificates` (v4): its app bag's
// `certificates`, a JSON list of {certificate, certificate_signing_request,
// ca, chain?, revoked?}. Untrusted: anything malformed is set aside with a
// message, never thrown.
import type { RelationSettings } from "../../juju/hookTools.js";

export interface ProviderCertificate {
  readonly certificate: string;
  readonly csr: string;
  readonly ca?: string;
  /** Leaf first, as the library orders it. */
  readonly chain: readonly string[];
  readonly revoked: boolean;
}

export interface ProviderCertificates {
  readonly entries: readonly ProviderCertificate[];
  /** Why the bag, or some of its entries, could not be read. */
  readonly problems: readonly string[];
}

/** Far more than a provider serving hundreds of units writes; past it, the bag is not parsed. */
export const MAX_CERTIFICATES_BYTES = 16 * 1024 * 1024;

const PEM_CERTIFICATE =
  /^\s*-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/;
const PEM_REQUEST =
  /^\s*-----BEGIN CERTIFICATE REQUEST-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE REQUEST-----\s*$/;

export function readProviderCertificates(bag: RelationSettings): ProviderCertificates {
  const raw = bag.certificates;
  if (raw === undefined || raw === "") return { entries: [], problems: [] };
  const bytes = Buffer.byteLength(raw);
  if (bytes > MAX_CERTIFICATES_BYTES) {
    return {
      entries: [],
      problems: [`certificates: ${bytes} bytes, more than ${MAX_CERTIFICATES_BYTES}; ignored`],
    };
  }
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    return { entries: [], problems: ["certificates: not JSON; ignored"] };
  }
  if (!Array.isArray(list)) {
    return { entries: [], problems: ["certificates: not a JSON list; ignored"] };
  }
  const entries: ProviderCertificate[] = [];
  let malformed = 0;
  for (const item of list) {
    const entry = readEntry(item);
    if (entry === undefined) malformed += 1;
    else entries.push(entry);
  }
  return {
    entries,
    problems:
      malformed > 0
        ? [
            `certificates: ${malformed} of ${list.length} entries are not PEM certificates for a PEM request; ignored`,
          ]
        : [],
  };
}

function readEntry(item: unknown): ProviderCertificate | undefined {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return undefined;
  const {
    certificate,
    certificate_signing_request: csr,
    ca,
    chain,
    revoked,
  } = item as Record<string, unknown>;
  if (typeof certificate !== "string" || !PEM_CERTIFICATE.test(certificate)) return undefined;
  if (typeof csr !== "string" || !PEM_REQUEST.test(csr)) return undefined;
  const chainList = Array.isArray(chain) ? chain : [];
  if (!chainList.every((pem) => typeof pem === "string" && PEM_CERTIFICATE.test(pem))) {
    return undefined;
  }
  return {
    certificate,
    csr,
    ...(typeof ca === "string" && PEM_CERTIFICATE.test(ca) && { ca }),
    chain: chainList as string[],
    revoked: revoked === true,
  };
}

/** CSRs compare equal whatever their line endings and surrounding blanks. */
export function sameRequest(a: string, b: string): boolean {
  const normal = (pem: string) => pem.replace(/\s+/g, "");
  return normal(a) === normal(b);
}
