// The listener the cos-agent subordinate scrapes: haproxy's built-in
// Prometheus exporter on loopback. The subordinate runs on the same machine,
// so nothing outside it can reach the listener and it needs no credentials.

/** The port Canonical's haproxy charm serves its exporter on. */
export const COS_AGENT_EXPORTER_PORT = 8404;
export const COS_AGENT_METRICS_PATH = "/metrics";
export const COS_AGENT_LISTENER_NAME = "cos_agent_metrics";

/** A `frontend` section as plain data: its name, bind address and the lines after `bind`. */
export interface ExporterListener {
  readonly name: string;
  /** `127.0.0.1:<port>` */
  readonly bind: string;
  readonly options: readonly string[];
}

export function exporterListener(port: number = COS_AGENT_EXPORTER_PORT): ExporterListener {
  return {
    name: COS_AGENT_LISTENER_NAME,
    bind: `127.0.0.1:${port}`,
    options: [
      "mode http",
      // A line per scrape would crowd out the traffic in haproxy's log.
      "no log",
      `http-request use-service prometheus-exporter if { path ${COS_AGENT_METRICS_PATH} }`,
    ],
  };
}
