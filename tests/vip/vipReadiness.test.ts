// When a unit may compete for the VIP: once every peer it knows lists it, or
// alone as the leader, and for good once it has been ready.
import { describe, expect, it } from "vitest";

import type { RemoteUnit } from "../../src/juju/hookInputs.js";
import { readyToHold } from "../../src/vip/vipReadiness.js";

const peer = (n: number, vipPeers?: string): RemoteUnit => ({
  relationId: "peer:1",
  unit: `haproxy/${n}`,
  settings: {
    "private-address": `10.0.0.1${n}`,
    ...(vipPeers !== undefined && { "vip-peers": vipPeers }),
  },
});

const ready = (peers: RemoteUnit[], options: { settled?: boolean; leader?: boolean } = {}) =>
  readyToHold({
    settled: options.settled ?? false,
    leader: async () => options.leader ?? false,
    unitAddress: "10.0.0.13",
    peers,
  });

describe("readyToHold", () => {
  it.each([
    ["every peer lists it", [peer(0, "10.0.0.11 10.0.0.13"), peer(1, "10.0.0.10 10.0.0.13")], true],
    [
      "one peer does not list it yet",
      [peer(0, "10.0.0.11 10.0.0.13"), peer(1, "10.0.0.10")],
      false,
    ],
    ["a peer published nothing yet", [peer(0, "10.0.0.11 10.0.0.13"), peer(1)], false],
    ["an address that only starts the same", [peer(0, "10.0.0.130")], false],
    [
      "a peer without a usable address does not hold it back",
      [peer(0, "10.0.0.13"), { ...peer(1), settings: { "private-address": "10.0.0.11\n}" } }],
      true,
    ],
  ])("%s: %s", async (_, peers, want) => {
    expect(await ready(peers)).toBe(want);
  });

  it("lets only the leader start alone", async () => {
    expect(await ready([], { leader: true })).toBe(true);
    expect(await ready([], { leader: false })).toBe(false);
  });

  it("stays ready once it has been", async () => {
    expect(await ready([peer(0, "10.0.0.11")], { settled: true })).toBe(true);
  });
});
