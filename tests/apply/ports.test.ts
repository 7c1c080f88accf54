import { describe, expect, it } from "vitest";
import { planPortChanges, type PortChanges } from "../../src/apply/ports.js";

describe("planPortChanges", () => {
  it.each<[string, { opened: string[]; wanted: number[] }, PortChanges]>([
    ["nothing opened yet", { opened: [], wanted: [443, 80] }, { open: [80, 443], close: [] }],
    ["already in place", { opened: ["80/tcp"], wanted: [80] }, { open: [], close: [] }],
    [
      "a frontend moved",
      { opened: ["80/tcp", "10000/tcp"], wanted: [80, 8080] },
      { open: [8080], close: [10000] },
    ],
    [
      "udp entries are left alone",
      { opened: ["53/udp", "80/tcp"], wanted: [53] },
      { open: [53], close: [80] },
    ],
    [
      "ranges are left alone but count as open",
      { opened: ["8000-8010/tcp"], wanted: [8005, 9000] },
      { open: [9000], close: [] },
    ],
    ["duplicates are opened once", { opened: [], wanted: [80, 80] }, { open: [80], close: [] }],
    [
      "everything closed",
      { opened: ["80/tcp", "443/tcp"], wanted: [] },
      { open: [], close: [80, 443] },
    ],
  ])("%s", (_name, { opened, wanted }, expected) => {
    expect(planPortChanges(opened, wanted)).toEqual(expected);
  });
});
