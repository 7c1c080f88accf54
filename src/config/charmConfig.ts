// The charm's options as config.yaml declares them, typed. Juju applies the
// defaults; this module only checks that each value has its declared type.
import { ConfigError } from "../lib/errors.js";

export interface CharmConfig {
  readonly global_log: string;
  readonly global_maxconn: number;
  readonly global_user: string;
  readonly global_group: string;
  readonly global_debug: boolean;
  readonly global_quiet: boolean;
  readonly global_hard_stop_after: string;
  readonly global_spread_checks: number;
  readonly global_stats_socket: boolean;
  readonly global_default_dh_param: number;
  readonly global_default_bind_ciphers: string;
  readonly global_default_bind_options: string;
  readonly default_log: string;
  readonly default_mode: string;
  readonly default_options: string;
  readonly default_retries: number;
  readonly default_timeouts: string;
  readonly logrotate_config: string;
  readonly enable_monitoring: boolean;
  readonly monitoring_port: number;
  readonly monitoring_allowed_cidr: string;
  readonly monitoring_username: string;
  readonly monitoring_password: string;
  readonly monitoring_stats_refresh: number;
  readonly monitoring_always_critical: boolean;
  readonly monitoring_prometheus: boolean;
  readonly package_status: string;
  readonly services: string;
  readonly userlists: string;
  readonly ssl_cert: string;
  readonly ssl_key: string;
  readonly external_hostname: string;
  readonly sysctl: string;
  readonly nagios_context: string;
  readonly nagios_servicegroups: string;
  readonly tls_warn_days: number;
  readonly tls_crit_days: number;
  readonly metrics_target: string;
  readonly metrics_prefix: string;
  readonly metrics_sample_interval: number;
  readonly source: string;
  readonly key: string;
  readonly peering_mode: string;
  readonly vip: string;
  readonly vip_router_id: number;
  readonly trust_relation_data: boolean;
}

export const DEFAULT_SERVICES = `- service_name: haproxy_service
  service_host: "0.0.0.0"
  service_port: 80
  service_options: [balance leastconn, cookie SRVNAME insert]
  server_options: maxconn 100 cookie S{i} check
`;

/** The defaults config.yaml declares; Juju fills them in, the dry run needs them too. */
export const CONFIG_DEFAULTS: CharmConfig = {
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
  vip: "",
  vip_router_id: 0,
  trust_relation_data: false,
};

/**
 * Types `config-get --format=json` output. Missing keys take config.yaml's
 * default (an option added by a newer charm revision than the model knows);
 * a value of the wrong type is the operator's error and names the option.
 */
export function parseCharmConfig(raw: Readonly<Record<string, unknown>>): CharmConfig {
  const result: Record<string, unknown> = {};
  for (const [option, fallback] of Object.entries(CONFIG_DEFAULTS)) {
    const value = raw[option];
    if (value === undefined || value === null) {
      result[option] = fallback;
    } else if (typeof fallback === "number") {
      if (typeof value !== "number" || !Number.isInteger(value)) {
        throw new ConfigError(option, `expected an integer, got ${JSON.stringify(value)}`);
      }
      result[option] = value;
    } else if (typeof value !== typeof fallback) {
      throw new ConfigError(option, `expected a ${typeof fallback}, got ${JSON.stringify(value)}`);
    } else {
      result[option] = value;
    }
  }
  return result as unknown as CharmConfig;
}
