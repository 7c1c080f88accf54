// The charm's options as config.yaml declares them, typed. Juju applies the
// defaults; this module only checks that each value has its declared type.
import { ConfigError } from "../lib/errors.js";

export const DEFAULT_SERVICES = `- service_name: haproxy_service
  service_host: "0.0.0.0"
  service_port: 80
  service_options: [balance leastconn, cookie SRVNAME insert]
  server_options: maxconn 100 cookie S{i} check
`;

/**
 * The defaults config.yaml declares (tests/charm-files checks they agree);
 * Juju fills them in, the dry run needs them too. The one list of options:
 * CharmConfig is derived from it.
 */
export const CONFIG_DEFAULTS = {
  global_log: "/dev/log local0, /dev/log local1 notice",
  global_maxconn: 4096,
  global_user: "haproxy",
  global_group: "haproxy",
  global_debug: false,
  global_quiet: false,
  global_hard_stop_after: "",
  global_spread_checks: 0,
  global_stats_socket: false,
  global_default_dh_param: 2048,
  // Empty: the charm's recommendation (model/globalSections.ts), so that a
  // refresh from the classic charm replaces its 2016 list where nobody set one.
  global_default_bind_ciphers: "",
  global_default_bind_options: "",
  default_log: "global",
  default_mode: "http",
  default_options: "httplog, dontlognull",
  default_retries: 3,
  default_timeouts: "queue 20000, client 50000, connect 5000, server 50000",
  logrotate_config: "",
  enable_monitoring: false,
  monitoring_port: 10000,
  monitoring_allowed_cidr: "127.0.0.1/32",
  monitoring_username: "haproxy",
  monitoring_password: "changeme",
  monitoring_stats_refresh: 3,
  monitoring_always_critical: true,
  monitoring_prometheus: false,
  package_status: "install",
  services: DEFAULT_SERVICES,
  userlists: "",
  ssl_cert: "",
  ssl_key: "",
  external_hostname: "",
  sysctl: "",
  nagios_context: "juju",
  nagios_servicegroups: "",
  tls_warn_days: 30,
  tls_crit_days: 14,
  metrics_target: "",
  metrics_prefix: "dev.$UNIT.haproxy",
  metrics_sample_interval: 5,
  source: "",
  key: "",
  peering_mode: "active-passive",
  peers_port: 10001,
  vip: "",
  vip_router_id: 0,
  trust_relation_data: false,
  enable_hsts: false,
  ingress_per_unit_tcp_base_port: 30000,
} as const satisfies Readonly<Record<string, OptionValue>>;

/** The values config.yaml's types allow: string, int and boolean. */
type OptionValue = string | number | boolean;

/** A default's literal type widened to its option's type: `4096` to number. */
type OptionType<Default> = Default extends string
  ? string
  : Default extends number
    ? number
    : Default extends boolean
      ? boolean
      : never;

/** The charm's options, typed by their defaults. */
export type CharmConfig = {
  readonly [Option in keyof typeof CONFIG_DEFAULTS]: OptionType<(typeof CONFIG_DEFAULTS)[Option]>;
};

export type ConfigOption = keyof CharmConfig;

// Object.keys types its result as string[]; these are CONFIG_DEFAULTS' own keys.
const CONFIG_OPTIONS = Object.keys(CONFIG_DEFAULTS) as readonly ConfigOption[];

/**
 * Types `config-get --format=json` output. Missing keys take config.yaml's
 * default (an option added by a newer charm revision than the model knows);
 * a value of the wrong type is the operator's error and names the option.
 */
export function parseCharmConfig(raw: Readonly<Record<string, unknown>>): CharmConfig {
  const config: { -readonly [Option in ConfigOption]: CharmConfig[Option] } = {
    ...CONFIG_DEFAULTS,
  };
  for (const option of CONFIG_OPTIONS) setOption(config, option, optionValue(option, raw[option]));
  return config;
}

function optionValue<Option extends ConfigOption>(
  option: Option,
  value: unknown,
): CharmConfig[Option] {
  const fallback: CharmConfig[Option] = CONFIG_DEFAULTS[option];
  if (value === undefined || value === null) return fallback;
  if (hasTypeOf(value, fallback)) return value;
  throw new ConfigError(
    option,
    typeof fallback === "number"
      ? `expected an integer, got ${JSON.stringify(value)}`
      : `expected a ${typeof fallback}, got ${JSON.stringify(value)}`,
  );
}

/** config.yaml's `int` is an integer; string and boolean are JavaScript's. */
function hasTypeOf<Value extends OptionValue>(value: unknown, fallback: Value): value is Value {
  return typeof fallback === "number" ? Number.isInteger(value) : typeof value === typeof fallback;
}

function setOption<Option extends ConfigOption>(
  config: { -readonly [Key in ConfigOption]: CharmConfig[Key] },
  option: Option,
  value: CharmConfig[Option],
): void {
  config[option] = value;
}

/**
 * The options as a hook reads them at its edge, or the first invalid one:
 * the unit goes blocked with its message, and what needs the options waits
 * for a valid value.
 */
export type ConfigReading = CharmConfig | ConfigError;

export function readCharmConfig(raw: Readonly<Record<string, unknown>>): ConfigReading {
  try {
    return parseCharmConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}
