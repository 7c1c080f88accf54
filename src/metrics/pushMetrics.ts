// The scheduled job: read haproxy's statistics from its admin socket and send
// one statsd gauge per numeric field over UDP. A target that does not
// resolve or answer costs one failed run, never a hang: every step has a
// deadline.
import { lookup } from "node:dns/promises";

import { StatsD } from "hot-shots";

import { describeError } from "../lib/describeError.js";
import { withDeadline } from "../lib/withDeadline.js";
import { type Gauge, statsGauges } from "./metricNames.js";
import type { MetricsSettings } from "./metricsSettings.js";
import { parseShowStat } from "./statsCsv.js";
import { askAdminSocket } from "./statsSocket.js";

export interface PushResult {
  readonly gauges: number;
  readonly address: string;
}

export class MetricsPushError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetricsPushError";
  }
}

export async function pushMetrics(
  settings: MetricsSettings,
  timeoutMs = 30_000,
): Promise<PushResult> {
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const csv = await askAdminSocket(settings.adminSocket, "show stat", left());
  const gauges = statsGauges(parseShowStat(csv), settings.prefix, settings.intervalMinutes);
  const address = await inTime(
    resolveHost(settings.target.host),
    left(),
    `resolving ${settings.target.host}`,
  );
  await inTime(
    sendGauges(address, settings.target.port, gauges),
    left(),
    `sending to ${settings.target.host}:${settings.target.port}`,
  );
  return { gauges: gauges.length, address };
}

async function resolveHost(host: string): Promise<string> {
  try {
    return (await lookup(host)).address;
  } catch (error) {
    throw new MetricsPushError(`cannot resolve ${host}: ${describeError(error)}`);
  }
}

/**
 * Gauges are packed, newline-separated, into datagrams that fit an Ethernet
 * frame: a few hundred single-gauge datagrams in one burst overflow a
 * receiver's socket buffer, and every statsd server reads packed lines.
 */
export const MAX_DATAGRAM_BYTES = 1432;

async function sendGauges(address: string, port: number, gauges: readonly Gauge[]): Promise<void> {
  const errors: Error[] = [];
  const client = new StatsD({
    host: address,
    port,
    protocol: "udp",
    maxBufferSize: MAX_DATAGRAM_BYTES,
    errorHandler: (error) => errors.push(error),
  });
  for (const gauge of gauges) client.gauge(gauge.name, gauge.value);
  // close() sends what is still buffered, then closes the socket.
  await new Promise<void>((resolve) =>
    client.close((error) => {
      if (error) errors.push(error);
      resolve();
    }),
  );
  const first = errors[0];
  if (first !== undefined) {
    throw new MetricsPushError(`sending to ${address}:${port} failed: ${first.message}`);
  }
}

/** `work`, or a MetricsPushError naming `what` once it has taken `ms`. */
function inTime<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(work, ms, () => {
    throw new MetricsPushError(`${what} took longer than ${ms} ms`);
  });
}
