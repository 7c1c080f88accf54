// The workload status decided once from every part of a hook: the first part
// that blocks names the problem, else the configuration's status stands, and
// an active status names the VIPs this unit holds.
import { describe, expect, it } from "vitest";

import { decideWorkloadStatus } from "../../src/hook/workloadStatus.js";

const ready = { status: "active", message: "Unit is ready" } as const;
const waiting = { status: "waiting", message: "No services configured" } as const;
const configBlocked = { status: "blocked", message: "config option services: bad" } as const;
const vipBlocked = { status: "blocked", message: "config option vip: bad" } as const;
const upkeepBlocked = { status: "blocked", message: "config option sysctl: bad" } as const;

describe("decideWorkloadStatus", () => {
  it("shows the configuration's status when nothing else speaks", () => {
    expect(decideWorkloadStatus([ready, {}, {}])?.shown).toEqual(ready);
    expect(decideWorkloadStatus([waiting, {}])?.shown).toEqual(waiting);
  });

  it("names the VIPs an active unit holds, and remembers the status without them", () => {
    const decided = decideWorkloadStatus([ready, { heldVips: ["10.0.0.9", "10.0.0.10"] }, {}]);
    expect(decided?.shown).toEqual({
      status: "active",
      message: "Unit is ready; holds VIPs 10.0.0.9 10.0.0.10",
    });
    expect(decided?.withoutVips).toEqual(ready);
    expect(decideWorkloadStatus([ready, { heldVips: ["10.0.0.9"] }])?.shown.message).toBe(
      "Unit is ready; holds VIP 10.0.0.9",
    );
    expect(decideWorkloadStatus([waiting, { heldVips: ["10.0.0.9"] }])?.shown).toEqual(waiting);
  });

  it("lets the first part that blocks name the problem: configuration, VIP, upkeep", () => {
    expect(decideWorkloadStatus([configBlocked, vipBlocked, upkeepBlocked])?.shown).toEqual(
      configBlocked,
    );
    expect(decideWorkloadStatus([waiting, vipBlocked, upkeepBlocked])?.shown).toEqual(vipBlocked);
    expect(decideWorkloadStatus([ready, {}, upkeepBlocked])?.shown).toEqual(upkeepBlocked);
    expect(
      decideWorkloadStatus([ready, { heldVips: ["10.0.0.9"] }, upkeepBlocked])?.withoutVips,
    ).toEqual(upkeepBlocked);
  });

  it("says nothing when no part does", () => {
    expect(decideWorkloadStatus([{}, {}])).toBeUndefined();
  });
});
