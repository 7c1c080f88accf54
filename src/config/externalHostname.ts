// external_hostname: a DNS name clients use to reach haproxy. It goes into
// CSR subjects, Host ACLs and URLs, so only a plain host name is accepted.
import { ConfigError } from "../lib/errors.js";
import type { CharmConfig } from "./charmConfig.js";

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** The option's value, lower-cased; empty when unset. */
export function externalHostname(config: CharmConfig): string {
  const value = config.external_hostname.trim();
  if (value === "") return "";
  if (value.length > 253 || !value.split(".").every((label) => LABEL.test(label))) {
    throw new ConfigError(
      "external_hostname",
      `${JSON.stringify(value.slice(0, 60))} is not a host name (letters, digits, "-" and dots)`,
    );
  }
  return value.toLowerCase();
}
