// `metrics_target`: `host:port` of a statsd server. Only its shape is checked
// here; whether it resolves or answers is the scheduled job's business, never
// a hook's.

export interface MetricsTarget {
  readonly host: string;
  readonly port: number;
}

export type MetricsTargetResult =
  | { readonly ok: true; readonly target: MetricsTarget }
  | { readonly ok: false; readonly problem: string };

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

export function parseMetricsTarget(text: string): MetricsTargetResult {
  const value = text.trim();
  if (value === "") return { ok: false, problem: "metrics_target is empty" };
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  if (match === null) {
    return {
      ok: false,
      problem: `metrics_target ${JSON.stringify(value)} is not host:port (IPv6: [address]:port)`,
    };
  }
  const [, ipv6, host, portText] = match;
  const port = Number(portText);
  if (port < 1 || port > 65535) {
    return { ok: false, problem: `metrics_target port ${port} is not between 1 and 65535` };
  }
  if (ipv6 !== undefined) {
    if (!IPV6.test(ipv6)) return { ok: false, problem: `[${ipv6}] is not an IPv6 address` };
    return { ok: true, target: { host: ipv6, port } };
  }
  if (host === undefined || !HOSTNAME.test(host)) {
    return { ok: false, problem: `metrics_target host ${JSON.stringify(host)} is not a host name` };
  }
  return { ok: true, target: { host, port } };
}
