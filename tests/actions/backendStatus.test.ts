// The backend-status report built from haproxy 2.6's real `show stat`
// answer, and from a row caught while a health check is running.
import { readFile } from "node:fs/promises";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { backendStates, countServers } from "../../src/actions/backendStatus.js";
import { parseShowStat } from "../../src/metrics/statsCsv.js";

const realAnswer = await readFile(
  path.join(import.meta.dirname, "../metrics/show-stat-haproxy-2.6.csv"),
  "utf8",
);

describe("backendStates", () => {
  it("lists each backend's servers with their status and last check", () => {
    const web = backendStates(parseShowStat(realAnswer)).get("my_web");
    expect(web?.servers["my-web-0-80"]).toMatchObject({ status: "DOWN", check: "L4CON" });
    expect(web?.servers["my-web-1-80"]).toMatchObject({ status: "no check", check: "" });
  });

  it("reports the last finished check while haproxy runs the next one", () => {
    // haproxy writes "* L4CON" in check_status while a check is in progress.
    const running = realAnswer.replace(",L4CON,", ",* L4CON,");
    expect(running).not.toBe(realAnswer);
    const backends = backendStates(parseShowStat(running));
    expect(backends.get("my_web")?.servers["my-web-0-80"]?.check).toBe("L4CON");
    expect(countServers(backends)).toEqual({ up: 1, down: 1, other: 0 });
  });
});
