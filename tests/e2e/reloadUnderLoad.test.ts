// Reloads under load, end to end: while wrk sends requests through haproxy
// over keep-alive connections and over a new connection per request, units
// join and leave and the config changes, reloading haproxy six times; once
// with each haproxy version the tests have (haproxyVersions.ts).
// (`npm run bench:reload` is the same with more changes and more load.)
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { haproxyVersions } from "../helpers/haproxyVersions.js";
import type { PackedCharm } from "./packedCharm.js";
import { packCharm } from "./packedCharm.js";
import { type ReloadFigures, reloadsUnderLoad } from "./reloadScenario.js";

vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

let charm: PackedCharm;
let figures: ReloadFigures;

beforeAll(() => {
  charm = packCharm();
});
afterAll(() => {
  charm?.cleanup();
});

for (const { version, binary } of haproxyVersions) {
  describe(`reloads under load with haproxy ${version}`, () => reloadsWith(version, binary));
}

function reloadsWith(version: string, binary: string): void {
  beforeAll(async () => {
    figures = await reloadsUnderLoad({
      charmFile: charm.file,
      modelName: "reloads",
      changes: 6,
      keepAliveConnections: 4,
      newConnectionConnections: 2,
      haproxyBinary: binary,
    });
  }, 240_000);

  it(`reload haproxy ${version} at most once per change`, () => {
    expect(figures.haproxyVersion).toBe(version);
    // Joins and the last server leaving go through the runtime API where
    // haproxy takes the default service's cookies (3.0); the rest reload.
    expect(figures.reloads).toBeGreaterThan(0);
    expect(figures.reloads).toBeLessThanOrEqual(6);
  });

  it("refuse and reset no new connection, and answer every request with a 2xx", () => {
    const load = figures.newConnections;
    expect(load.requests).toBeGreaterThan(500);
    expect(load.socketErrors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
    expect(load.non2xx).toBe(0);
  });

  it("lose no request on a keep-alive connection, and answer every one with a 2xx", () => {
    // The old worker answers an idle connection's next request with
    // `Connection: close` (idle-close-on-response) instead of closing it idle.
    const load = figures.keepAlive;
    expect(load.requests).toBeGreaterThan(500);
    expect(load.socketErrors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
    expect(load.non2xx).toBe(0);
  });
}
