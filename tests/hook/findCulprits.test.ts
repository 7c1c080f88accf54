// The search for the related units haproxy cannot take, against a judge
// whose verdicts are known: which items it rejects, alone or together.
import { describe, expect, it } from "vitest";

import { PROBE_BUDGET, findCulprits } from "../../src/hook/rejectedUnits.js";

/** A judge rejecting any set that holds one of `bad`, counting its calls. */
function judge(bad: readonly number[]) {
  const calls: number[][] = [];
  return {
    calls,
    check: async (kept: readonly number[]) => {
      calls.push([...kept]);
      const found = kept.find((item) => bad.includes(item));
      return found === undefined ? undefined : `unknown keyword in ${found}`;
    },
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("findCulprits", () => {
  it("finds the one bad item among a hundred in a few checks, with its complaint", async () => {
    const { check, calls } = judge([37]);
    expect(await findCulprits(range(100), check)).toEqual([
      { item: 37, complaint: "unknown keyword in 37", narrowed: true },
    ]);
    expect(calls.length).toBeLessThanOrEqual(2 + 2 * Math.ceil(Math.log2(100)));
    // The last set checked, all but the culprit, is what goes live.
    expect(calls.at(-1)?.length).toBe(99);
  });

  it("finds several bad items and keeps every other one", async () => {
    const { check } = judge([0, 50, 99]);
    const culprits = await findCulprits(range(100), check);
    expect(culprits?.map((culprit) => culprit.item)).toEqual([0, 50, 99]);
  });

  it("leaves out the later of two items that haproxy rejects only together", async () => {
    const check = async (kept: readonly number[]) =>
      kept.includes(3) && kept.includes(7) ? "proxy 'web' has two servers named 'a'" : undefined;
    expect(await findCulprits(range(10), check)).toEqual([
      { item: 7, complaint: "proxy 'web' has two servers named 'a'", narrowed: true },
    ]);
  });

  it("blames no item when even the empty set is rejected", async () => {
    const check = async () => "unknown keyword 'balancee' in the operator's service";
    expect(await findCulprits(range(5), check)).toBeUndefined();
  });

  it("finds nothing to leave out when everything is accepted", async () => {
    expect(await findCulprits(range(5), judge([]).check)).toEqual([]);
  });

  it("leaves out a whole failing group, marked not narrowed, once the budget is spent", async () => {
    const bad = range(64).map((i) => i * 2); // every even item among 128
    const { check, calls } = judge(bad);
    const culprits = (await findCulprits(range(128), check)) ?? [];
    // Every bad item is out, and the checks stayed near the budget.
    expect(culprits.filter((culprit) => bad.includes(culprit.item))).toHaveLength(64);
    expect(calls.length).toBeLessThanOrEqual(PROBE_BUDGET + Math.ceil(Math.log2(128)) + 1);
    expect(culprits.some((culprit) => !culprit.narrowed)).toBe(true);
    // What was kept is accepted.
    const out = new Set(culprits.map((culprit) => culprit.item));
    expect(await check(range(128).filter((item) => !out.has(item)))).toBeUndefined();
  });

  it("confirms the others in one check when the culprit is among the suspects", async () => {
    const { check, calls } = judge([321]);
    const culprits = await findCulprits(range(500), check, { suspect: (item) => item === 321 });
    expect(culprits?.map((culprit) => culprit.item)).toEqual([321]);
    // The empty set, the 499 others, then the suspect with them.
    expect(calls.map((kept) => kept.length)).toEqual([0, 499, 500]);
  });

  it("still finds a new culprit, and clears a suspect that is fine now", async () => {
    const { check } = judge([12]);
    const culprits = await findCulprits(range(100), check, { suspect: (item) => item === 40 });
    expect(culprits?.map((culprit) => culprit.item)).toEqual([12]);
  });
});
