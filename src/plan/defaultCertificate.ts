// The certificate `DEFAULT` in a service's crts names: the operator's ssl_cert
// and ssl_key, the SELFSIGNED one, or the certificates relation's; and where
// the relation's certificates for route hostnames are kept.
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import { ConfigError, WaitingError } from "../lib/errors.js";
import { pemBundleProblem } from "../lib/pemBundle.js";
import type { ParsedService } from "../model/parseServices.js";
import { defaultCertificatePath } from "../model/proxyStanzas.js";
import { hostnameCertificateDir } from "../model/hostnameCrtList.js";
import type { ManagedFile } from "../model/types.js";

/** The certificates relation's certificate, chain and key, as haproxy loads it. */
export function relationCertificatePath(libDir: string): string {
  return `${libDir}/certificates-relation.pem`;
}

/**
 * A route hostname's certificate, chain and key from the certificates
 * relation: `<libDir>/certs/<hostname>.pem`, a wildcard `*.x` as
 * `_wildcard_.x.pem` (no `*` in file names). Hostnames arrive checked
 * (isCertificateHostname); anything but letters, digits, ".", "-" and "_"
 * becomes "_" all the same, so no name leaves the directory.
 */
export function hostnameCertificatePath(libDir: string, hostname: string): string {
  const name = hostname.startsWith("*.") ? `_wildcard_${hostname.slice(1)}` : hostname;
  return `${hostnameCertificateDir(libDir)}/${name.replace(/[^A-Za-z0-9._-]/g, "_")}.pem`;
}

export function defaultCertificateFiles(
  config: CharmConfig,
  inputs: HookInputs,
  libDir: string,
): ManagedFile[] {
  const pem = (content: string): ManagedFile[] => [
    { path: defaultCertificatePath(libDir), content, mode: 0o600, secret: true },
  ];
  if (config.ssl_cert === "") return [];
  if (config.ssl_cert === "SELFSIGNED")
    return inputs.selfSignedPem ? pem(inputs.selfSignedPem) : [];
  if (config.ssl_key === "") throw new ConfigError("ssl_key", "must be set when ssl_cert is set");
  const decode = (option: "ssl_cert" | "ssl_key") => {
    const text = config[option].trim();
    if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) throw new ConfigError(option, "is not base64");
    const decoded = Buffer.from(text, "base64").toString("utf8");
    return decoded.endsWith("\n") ? decoded : `${decoded}\n`;
  };
  const bundle = decode("ssl_cert") + decode("ssl_key");
  switch (pemBundleProblem(bundle)) {
    case "certificate":
      throw new ConfigError("ssl_cert", "is not a base64-encoded PEM certificate");
    case "key":
      throw new ConfigError("ssl_key", "is not a base64-encoded, unencrypted PEM private key");
    case "mismatch":
      throw new ConfigError("ssl_key", "does not match the certificate in ssl_cert");
    case undefined:
      return pem(bundle);
  }
}

// Without ssl_cert or the relation's certificate, DEFAULT names no file:
// say what is missing rather than let haproxy fail to load it.
export function assertNoDefaultCrts(
  services: readonly ParsedService[],
  awaitedHostname: string | undefined,
): void {
  const needing = services.find((service) => service.crts?.some((crt) => crt.kind === "default"));
  if (needing === undefined) return;
  if (awaitedHostname !== undefined) {
    throw new WaitingError(
      `Waiting for a certificate for ${awaitedHostname} on the certificates relation`,
    );
  }
  throw new ConfigError(
    "services",
    `service ${needing.name} lists DEFAULT in crts, but there is no default certificate: ` +
      "set ssl_cert, or set external_hostname and relate a certificates provider",
  );
}
