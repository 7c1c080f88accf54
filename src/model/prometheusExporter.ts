// haproxy's built-in Prometheus exporter, served at /metrics on the
// monitoring listener. The statistics page's `stats auth` only guards the
// stats URI, so /metrics asks for the same credentials through a user list.
import type { Userlist } from "./types.js";

export const PROMETHEUS_PATH = "/metrics";
export const MONITORING_USERLIST = "haproxy_monitoring_users";

export interface MonitoringCredentials {
  readonly username: string;
  readonly password: string;
}

/** Frontend rules, placed after the CIDR rule so unknown sources are denied first. */
export function prometheusExporterOptions(): string[] {
  const isMetrics = `{ path ${PROMETHEUS_PATH} }`;
  return [
    `http-request auth realm Haproxy\\ Statistics if ${isMetrics} !{ http_auth(${MONITORING_USERLIST}) }`,
    `http-request use-service prometheus-exporter if ${isMetrics}`,
  ];
}

export function monitoringUserlist(credentials: MonitoringCredentials): Userlist {
  return {
    name: MONITORING_USERLIST,
    groups: [],
    users: [`${credentials.username} insecure-password ${credentials.password}`],
  };
}
