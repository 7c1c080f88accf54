// What haproxy writes for the units behind it on `reverseproxy` (pure).
import type { CharmConfig } from "../../config/charmConfig.js";
import { certificateOnly } from "../../lib/pemBundle.js";

/** How the units behind haproxy learn its public address and certificate. */
export function reverseproxySettings(
  config: CharmConfig,
  publicAddress: string,
  selfSignedPem: string | undefined,
): Record<string, string> {
  const selfSigned = selfSignedPem === undefined ? undefined : certificateOnly(selfSignedPem);
  return {
    "public-address": publicAddress,
    ssl_cert:
      config.ssl_cert === "SELFSIGNED"
        ? selfSigned === undefined
          ? ""
          : Buffer.from(selfSigned).toString("base64")
        : config.ssl_cert,
  };
}
