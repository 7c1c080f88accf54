// `metrics push` against a real haproxy's admin socket and a real UDP
// receiver; and the failures that must end quickly instead of hanging.
import { createServer } from "node:net";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { adminSocketPath } from "../../src/model/runtimeFiles.js";
import {
  MAX_DATAGRAM_BYTES,
  MetricsPushError,
  pushMetrics,
} from "../../src/metrics/pushMetrics.js";
import { StatsSocketError } from "../../src/metrics/statsSocket.js";
import { type UdpReceiver, startUdpReceiver } from "../helpers/udpReceiver.js";
import { type CharmUnit, startCharmUnit } from "../helpers/charmUnit.js";

let unit: CharmUnit;
let receiver: UdpReceiver;

beforeAll(async () => {
  unit = await startCharmUnit({ backends: 2 });
  await unit.hook("config-changed");
  receiver = await startUdpReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await unit?.cleanup();
});

const settings = (overrides: Partial<Parameters<typeof pushMetrics>[0]> = {}) => ({
  target: { host: "127.0.0.1", port: receiver.port },
  prefix: "dev.haproxy-0.haproxy",
  intervalMinutes: 5,
  adminSocket: adminSocketPath(unit.paths.haproxyRun),
  ...overrides,
});

describe("pushMetrics", () => {
  it("sends gauges for the frontend and every backend server, named as before", async () => {
    const result = await pushMetrics(settings());
    await receiver.waitForLines(result.gauges);
    expect(receiver.lines).toHaveLength(result.gauges);
    const gauges = receiver.gauges();
    const frontend = `haproxy-0-${unit.frontendPort}`;
    const names = [...gauges.keys()];
    expect(names).toContain(`dev.haproxy-0.haproxy.${frontend}.FRONTEND.scur.5min`);
    for (const backend of unit.backends) {
      const server = `${backend.name.replace("/", "-")}-${backend.port}`;
      expect(names).toContain(`dev.haproxy-0.haproxy.web.${server}.scur.5min`);
      expect(gauges.get(`dev.haproxy-0.haproxy.web.${server}.weight.5min`)).toBe(1);
    }
    expect(names).toContain("dev.haproxy-0.haproxy.web.BACKEND.stot.5min");
    expect(names.every((name) => name.endsWith(".5min"))).toBe(true);
    expect(receiver.lines.every((line) => /^[^:|@\s]+:-?[\d.]+\|g$/.test(line))).toBe(true);
    expect(result.address).toBe("127.0.0.1");
  });

  it("packs gauges into datagrams that fit an Ethernet frame", () => {
    expect(receiver.datagrams.length).toBeGreaterThan(1);
    expect(receiver.datagrams.length).toBeLessThan(receiver.lines.length / 5);
    expect(Math.max(...receiver.datagrams)).toBeLessThanOrEqual(MAX_DATAGRAM_BYTES);
  });

  it("fails, naming the host, when the target does not resolve", async () => {
    // Whether the resolver says no at once or the deadline cuts it short.
    const error: unknown = await pushMetrics(
      settings({ target: { host: "no-such-host.invalid", port: 8125 } }),
      5000,
    ).catch((rejection: unknown) => rejection);
    expect(error).toBeInstanceOf(MetricsPushError);
    expect((error as Error).message).toContain("no-such-host.invalid");
  });

  it("gives up at its deadline instead of hanging on an admin socket that never answers", async () => {
    // A hang fails at this test's own timeout rather than on a wall-clock margin.
    const silent = createServer(() => undefined);
    const socketPath = path.join(unit.root, "silent.sock");
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
    try {
      await expect(pushMetrics(settings({ adminSocket: socketPath }), 500)).rejects.toThrow(
        /no answer within \d+ ms/,
      );
    } finally {
      silent.close();
    }
  }, 20_000);

  it("succeeds when nothing listens on the target port (UDP has no answer to wait for)", async () => {
    const closed = await startUdpReceiver();
    const port = closed.port;
    await closed.close();
    await expect(pushMetrics(settings({ target: { host: "127.0.0.1", port } }))).resolves.toEqual(
      expect.objectContaining({ address: "127.0.0.1" }),
    );
  });

  it("reports a missing admin socket as such", async () => {
    await expect(
      pushMetrics(settings({ adminSocket: path.join(unit.root, "nowhere.sock") })),
    ).rejects.toThrow(StatsSocketError);
  });
});
