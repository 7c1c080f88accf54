// The global, defaults and userlist sections, from the charm's options.
import type { CharmConfig } from "../config/charmConfig.js";
import { ConfigError } from "../errors.js";
import { loadBoundedYaml } from "./boundedYaml.js";
import {
  InvalidField,
  checkLine,
  checkList,
  checkMapping,
  checkName,
  commaSplit,
} from "./fieldChecks.js";
import type { DefaultsSection, GlobalSection, Userlist } from "./types.js";

/** The charm's own admin socket: actions, metrics and seamless reloads use it. */
export function adminSocketPath(runDir: string): string {
  return `${runDir}/admin.sock`;
}

// Old workers must not linger forever after reloads (a long download would
// keep one alive for hours): the charm's bound when the option is empty.
export const DEFAULT_HARD_STOP_AFTER = "10m";

// The socket the old charm exposed with global_stats_socket.
const LEGACY_STATS_SOCKET = "/var/run/haproxy/haproxy.sock";

export function buildGlobalSection(config: CharmConfig, runDir: string): GlobalSection {
  const line = (option: keyof CharmConfig) => configLine(config, option);
  const hardStopAfter = line("global_hard_stop_after");
  const bindOptions = line("global_default_bind_options");
  return {
    logs: commaSplit(line("global_log")),
    maxconn: config.global_maxconn,
    user: singleToken(config, "global_user"),
    group: singleToken(config, "global_group"),
    quiet: config.global_quiet,
    hardStopAfter: hardStopAfter === "" ? DEFAULT_HARD_STOP_AFTER : hardStopAfter,
    spreadChecks: config.global_spread_checks,
    dhParam: config.global_default_dh_param,
    bindCiphers: singleToken(config, "global_default_bind_ciphers"),
    ...(bindOptions !== "" && { bindOptions }),
    statsSockets: [
      // expose-fd lets a reloading haproxy take over the listening sockets.
      `${adminSocketPath(runDir)} mode 600 level admin expose-fd listeners`,
      ...(config.global_stats_socket ? [`${LEGACY_STATS_SOCKET} mode 0600`] : []),
    ],
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
