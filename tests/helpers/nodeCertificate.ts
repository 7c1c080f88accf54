// Self-signed X.509 certificates made with node:crypto alone (a v1
// certificate, an EC P-256 key, DER written by hand), for tests that run
// without openssl: node parses them as it parses any other.
import { X509Certificate, generateKeyPairSync, randomBytes, sign } from "node:crypto";

export interface NodeCertificate {
  readonly pem: string;
  /** As X509Certificate's fingerprint256 gives it. */
  readonly fingerprint256: string;
  /** The certificate's private key, PKCS#8 PEM. */
  readonly keyPem: string;
}

/** A certificate for `commonName` that signed itself, valid from a day ago for a year. */
export function nodeCertificate(commonName: string): NodeCertificate {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const ecdsaWithSha256 = der(0x30, der(0x06, Buffer.from("2a8648ce3d040302", "hex")));
  const name = der(
    0x30,
    der(
      0x31,
      der(0x30, der(0x06, Buffer.from("550403", "hex")), der(0x0c, Buffer.from(commonName))),
    ),
  );
  const day = 86_400_000;
  const serial = randomBytes(8);
  // A positive INTEGER in its shortest form: a leading 0x00 byte would be
  // padding that DER forbids, and a set top bit would make it negative.
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const tbs = der(
    0x30,
    der(0x02, serial),
    ecdsaWithSha256,
    name,
    der(0x30, utcTime(Date.now() - day), utcTime(Date.now() + 365 * day)),
    name,
    publicKey.export({ type: "spki", format: "der" }),
  );
  const signature = sign("sha256", tbs, privateKey);
  const certificate = der(0x30, tbs, ecdsaWithSha256, der(0x03, Buffer.from([0]), signature));
  const lines = certificate.toString("base64").match(/.{1,64}/g) ?? [];
  const pem = `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
  return {
    pem,
    fingerprint256: new X509Certificate(pem).fingerprint256,
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** One DER element: tag, length, content. */
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const length = body.length;
  const header =
    length < 0x80
      ? [tag, length]
      : length < 0x100
        ? [tag, 0x81, length]
        : [tag, 0x82, length >> 8, length & 0xff];
  return Buffer.concat([Buffer.from(header), body]);
}

function utcTime(ms: number): Buffer {
  const text = new Date(ms).toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
  return der(0x17, Buffer.from(text));
}
