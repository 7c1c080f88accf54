// The Nagios checks this unit offers through nrpe: what they are and the
// files the nrpe server and the nrpe-external-master subordinate read, in
// the layout and with the names the old charm used (pure).
import { dump } from "js-yaml";

import type { CharmConfig } from "../../config/charmConfig.js";

export interface NrpeCheck {
  /** `haproxy` gives the nrpe command `check_haproxy`. */
  readonly shortname: string;
  readonly description: string;
  /** The command line the nrpe server runs (as the nagios user). */
  readonly command: string;
}

export interface NrpeContext {
  readonly config: CharmConfig;
  readonly pluginDir: string;
  /** Frontends that terminate TLS, for the certificate expiry check. */
  readonly tlsListeners: readonly TlsListener[];
}

export interface TlsListener {
  readonly host: string;
  readonly port: number;
}

/** Where the monitoring-plugins package puts check_http. */
export const MONITORING_PLUGINS = "/usr/lib/nagios/plugins";

export const SERVERS_PLUGIN = "check_haproxy.sh";
export const QUEUE_PLUGIN = "check_haproxy_queue_depth.sh";

export function nrpeChecks(context: NrpeContext): NrpeCheck[] {
  const { config, pluginDir } = context;
  const alwaysCritical = config.monitoring_always_critical ? "true" : "false";
  const checks: NrpeCheck[] = [
    {
      shortname: "haproxy",
      description: "Check HAProxy",
      command: `${pluginDir}/${SERVERS_PLUGIN} -c ${alwaysCritical}`,
    },
    {
      shortname: "haproxy_queue",
      description: "Check HAProxy queue depth",
      command: `${pluginDir}/${QUEUE_PLUGIN}`,
    },
  ];
  const byPort = new Map(context.tlsListeners.map((listener) => [listener.port, listener.host]));
  const ports = [...byPort.keys()].sort((a, b) => a - b);
  ports.forEach((port, i) => {
    checks.push({
      // The old charm's single check was `https_cert`; further ports get their own.
      shortname: i === 0 ? "https_cert" : `https_cert_${port}`,
      description: `Certificate expiry check for local unit (port ${port})`,
      command:
        `${MONITORING_PLUGINS}/check_http -I ${localAddress(byPort.get(port) ?? "")} -p ${port} -S ` +
        `-C ${config.tls_warn_days},${config.tls_crit_days}`,
    });
  });
  return checks;
}

/** A listener on every address is checked on loopback. */
function localAddress(host: string): string {
  return ["", "0.0.0.0", "::", "*"].includes(host) ? "127.0.0.1" : host;
}

/** `juju-haproxy-0`: the unit's host name in Nagios. */
export function nagiosHostname(config: CharmConfig, unitName: string): string {
  return `${config.nagios_context}-${unitName.replaceAll("/", "-")}`;
}

export function nagiosServicegroups(config: CharmConfig): string {
  return config.nagios_servicegroups.trim() || config.nagios_context;
}

export function nrpeCommandFileName(check: NrpeCheck): string {
  return `check_${check.shortname}.cfg`;
}

/** Files of ours in nrpe.d/, including checks an earlier configuration had. */
export const NRPE_COMMAND_FILE = /^check_(haproxy|haproxy_queue|https_cert(_\d+)?)\.cfg$/;

export function nrpeCommandFile(check: NrpeCheck, servicegroups: string): string {
  return [
    `# check ${check.shortname}`,
    "# Written by the haproxy charm; changes here are overwritten.",
    `# servicegroups: ${servicegroups}`,
    `command[check_${check.shortname}]=${check.command}`,
    "",
  ].join("\n");
}

export function nagiosServiceFileName(check: NrpeCheck, hostname: string): string {
  return `service__${hostname}_check_${check.shortname}.cfg`;
}

export const NAGIOS_SERVICE_FILE =
  /^service__.+_check_(haproxy|haproxy_queue|https_cert(_\d+)?)\.cfg$/;

export function nagiosServiceFile(
  check: NrpeCheck,
  hostname: string,
  servicegroups: string,
): string {
  const field = (name: string, value: string) => `    ${name.padEnd(32)}${value}`;
  return [
    "#---------------------------------------------------",
    "# Written by the haproxy charm (Juju managed)",
    "#---------------------------------------------------",
    "define service {",
    field("use", "active-service"),
    field("host_name", hostname),
    field("service_description", `${hostname}[${check.shortname}] ${check.description}`),
    field("check_command", `check_nrpe!check_${check.shortname}`),
    field("servicegroups", servicegroups),
    "}",
    "",
  ].join("\n");
}

/** The `monitors` key of the nrpe-external-master and local-monitors relations. */
export function monitorsYaml(checks: readonly NrpeCheck[]): string {
  const nrpe = Object.fromEntries(
    checks.map((check) => [check.shortname, { command: `check_${check.shortname}` }]),
  );
  return dump({ monitors: { remote: { nrpe } } }, { lineWidth: -1, sortKeys: true });
}

/**
 * curl's config for the checks: the statistics page's address and
 * credentials, so the password is in a file only root and nagios read,
 * never on a command line.
 */
export function statsCurlConfig(config: CharmConfig, password: string): string {
  return [
    "# Written by the haproxy charm for its nrpe checks.",
    `url = "http://127.0.0.1:${config.monitoring_port}/;csv;norefresh"`,
    `user = "${config.monitoring_username}:${password}"`,
    "",
  ].join("\n");
}
