// A real statsd-style UDP receiver on loopback: it keeps every line of every
// datagram, so tests can ask which gauges arrived.
import { type Socket, createSocket } from "node:dgram";

export interface UdpReceiver {
  readonly port: number;
  /** Every `name:value|type` line received so far. */
  readonly lines: string[];
  /** The size in bytes of each datagram received. */
  readonly datagrams: number[];
  /** Gauges by name (the last value wins). */
  gauges(): Map<string, number>;
  /** Resolves once at least `count` lines arrived, or rejects after `timeoutMs`. */
  waitForLines(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startUdpReceiver(host = "127.0.0.1"): Promise<UdpReceiver> {
  const socket: Socket = createSocket("udp4");
  const lines: string[] = [];
  const datagrams: number[] = [];
  socket.on("message", (message) => {
    datagrams.push(message.length);
    for (const line of message.toString("utf8").split("\n")) if (line !== "") lines.push(line);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, host, () => resolve());
  });
  return {
    port: socket.address().port,
    lines,
    datagrams,
    gauges() {
      const gauges = new Map<string, number>();
      for (const line of lines) {
        const match = /^(.+):(-?[\d.]+)\|g$/.exec(line);
        if (match?.[1] !== undefined) gauges.set(match[1], Number(match[2]));
      }
      return gauges;
    },
    async waitForLines(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (lines.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`only ${lines.length} of ${count} statsd lines arrived`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
