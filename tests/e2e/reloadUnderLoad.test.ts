// Reloads under load, end to end: while wrk sends requests through haproxy
// over keep-alive connections and over a new connection per request, units
// join and leave and the config changes, reloading haproxy six times.
// (`npm run bench:reload` is the same with more changes and more load.)
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import type { PackedCharm } from "./packedCharm.js";
import { packCharm } from "./packedCharm.js";
import { type ReloadFigures, reloadsUnderLoad } from "./reloadScenario.js";

vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

let charm: PackedCharm;
let figures: ReloadFigures;

beforeAll(async () => {
  charm = packCharm();
  figures = await reloadsUnderLoad({
    charmFile: charm.file,
    modelName: "reloads",
    changes: 6,
    keepAliveConnections: 4,
    newConnectionConnections: 2,
  });
}, 240_000);
afterAll(() => {
  charm?.cleanup();
});

describe("reloads under load", () => {
  it("reload haproxy once per change", () => {
    expect(figures.reloads).toBe(6);
  });

  it("refuse and reset no new connection, and answer every request with a 2xx", () => {
    const load = figures.newConnections;
    expect(load.requests).toBeGreaterThan(500);
    expect(load.socketErrors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
    expect(load.non2xx).toBe(0);
  });

  it("keep keep-alive connections answered with 2xx, losing at most a request racing an idle close", () => {
    // haproxy 2.6 closes idle keep-alive connections when an old worker
    // stops; a client that sends on one at that instant reads nothing back
    // (browsers retry such a request, wrk does not). haproxy 2.7 and later
    // can wait for the next request instead (idle-close-on-response).
    const load = figures.keepAlive;
    expect(load.requests).toBeGreaterThan(500);
    expect(load.non2xx).toBe(0);
    expect({ ...load.socketErrors, read: 0 }).toEqual({
      connect: 0,
      read: 0,
      write: 0,
      timeout: 0,
    });
    expect(load.socketErrors.read).toBeLessThanOrEqual(figures.reloads);
  });
});
