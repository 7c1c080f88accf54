// The global, defaults and userlist sections, from the charm's options.
import type { CharmConfig } from "../config/charmConfig.js";
import { ConfigError } from "../lib/errors.js";
import { loadBoundedYaml } from "./boundedYaml.js";
import {
  InvalidField,
  checkLine,
  checkList,
  checkMapping,
  checkName,
  commaSplit,
} from "./fieldChecks.js";
import { adminSocketPath, serverStateFilePath } from "./runtimeFiles.js";
import type { DefaultsSection, GlobalSection, Userlist } from "./types.js";

// Old workers must not linger forever after reloads (a long download would
// keep one alive for hours): the charm's bound when the option is empty.
export const DEFAULT_HARD_STOP_AFTER = "10m";

// The socket the old charm exposed with global_stats_socket.
const LEGACY_STATS_SOCKET = "/var/run/haproxy/haproxy.sock";

// The charm's TLS recommendation, used where the operator left an option
// empty: Mozilla's "intermediate" profile, server-side TLS guidelines 6.0
// (ssl-config.mozilla.org, its output for haproxy 2.2 and later). TLS 1.2
// gets ECDHE with AEAD ciphers only, so every session has forward secrecy;
// guidelines 6.0 dropped 5.7's DHE ciphers. RSA and ECDSA certificates both
// work. The key exchange groups stay OpenSSL's own (all forward-secret):
// naming Mozilla's X25519MLKEM768 would make OpenSSL before 3.5 refuse the
// configuration, and newer ones already offer it.
export const RECOMMENDED_BIND_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

// TLS 1.3 suites: OpenSSL's default set, named so that a system-wide OpenSSL
// configuration cannot add the CCM ones. No option sets them; an operator's
// cipher list is, as haproxy reads it, for TLS 1.2 and below.
export const RECOMMENDED_BIND_CIPHERSUITES = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
].join(":");

// The floor (also haproxy's own default, stated all the same) and no session
// tickets: their key lives as long as the haproxy process, and whoever gets it
// can read every session it covered, undoing forward secrecy.
// Global, not on the bind lines, where an ssl-min-ver would override an
// operator's stricter one.
const RECOMMENDED_BIND_OPTIONS = "ssl-min-ver TLSv1.2 no-tls-tickets";

export function buildGlobalSection(config: CharmConfig, runDir: string): GlobalSection {
  const line = (option: keyof CharmConfig) => configLine(config, option);
  const hardStopAfter = line("global_hard_stop_after");
  return {
    logs: commaSplit(line("global_log")),
    maxconn: config.global_maxconn,
    user: singleToken(config, "global_user"),
    group: singleToken(config, "global_group"),
    quiet: config.global_quiet,
    hardStopAfter: hardStopAfter === "" ? DEFAULT_HARD_STOP_AFTER : hardStopAfter,
    spreadChecks: config.global_spread_checks,
    dhParam: config.global_default_dh_param,
    ...tlsDefaults(config),
    statsSockets: [
      // expose-fd lets a reloading haproxy take over the listening sockets.
      `${adminSocketPath(runDir)} mode 600 level admin expose-fd listeners`,
      ...(config.global_stats_socket ? [`${LEGACY_STATS_SOCKET} mode 0600`] : []),
    ],
    serverStateFile: serverStateFilePath(runDir),
  };
}

export function buildDefaultsSection(config: CharmConfig): DefaultsSection {
  return {
    log: configLine(config, "default_log"),
    mode: singleToken(config, "default_mode"),
    options: commaSplit(configLine(config, "default_options")),
    retries: config.default_retries,
    timeouts: commaSplit(configLine(config, "default_timeouts")),
  };
}

/** `userlists`: a YAML list of `{<name>: {groups: [...], users: [...]}}`. */
export function parseUserlists(text: string): Userlist[] {
  try {
    const document = loadBoundedYaml(text, "userlists");
    if (document === null || document === undefined || document === "") return [];
    return checkList(document, "userlists").flatMap((entry, i) =>
      Object.entries(checkMapping(entry, `[${i}]`)).map(([name, body]) => {
        const lists = checkMapping(body, `[${i}].${name}`);
        const lines = (key: string) =>
          checkList(lists[key], `${name}.${key}`).map((v, j) =>
            checkLine(v, `${name}.${key}[${j}]`),
          );
        return { name: checkName(name, `[${i}]`), groups: lines("groups"), users: lines("users") };
      }),
    );
  } catch (error) {
    // User lines carry passwords: say where the problem is, never echo the value.
    if (error instanceof InvalidField) {
      const problem = error.problem.replace(/, got [\s\S]*$/, "");
      throw new ConfigError(
        "userlists",
        error.field === "userlists" ? problem : `${error.field}: ${problem}`,
      );
    }
    throw error;
  }
}

/**
 * An operator's cipher list or options are kept as written; an empty one
 * takes the recommendation. Among the recommended ciphers, all strong, the
 * client chooses (as Mozilla advises: phones without AES hardware pick
 * ChaCha20); an operator's own list keeps haproxy's server-side order.
 */
function tlsDefaults(
  config: CharmConfig,
): Pick<GlobalSection, "bindCiphers" | "bindCiphersuites" | "bindOptions"> {
  const ours = configLine(config, "global_default_bind_ciphers") === "";
  const options = configLine(config, "global_default_bind_options");
  return {
    bindCiphers: ours
      ? RECOMMENDED_BIND_CIPHERS
      : singleToken(config, "global_default_bind_ciphers"),
    bindCiphersuites: RECOMMENDED_BIND_CIPHERSUITES,
    bindOptions:
      options !== ""
        ? options
        : `${ours ? "prefer-client-ciphers " : ""}${RECOMMENDED_BIND_OPTIONS}`,
  };
}

function configLine(config: CharmConfig, option: keyof CharmConfig): string {
  try {
    return checkLine(config[option], option);
  } catch (error) {
    if (error instanceof InvalidField) throw new ConfigError(option, error.problem);
    throw error;
  }
}

function singleToken(config: CharmConfig, option: keyof CharmConfig): string {
  const value = configLine(config, option);
  if (value === "" || /\s/.test(value)) {
    throw new ConfigError(option, `must be a single word, got ${JSON.stringify(value)}`);
  }
  return value;
}
