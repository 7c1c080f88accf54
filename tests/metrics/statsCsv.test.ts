// Parsing haproxy's `show stat` CSV: a real answer of haproxy 2.6 (a
// frontend, a backend with a server that is down and one without checks),
// and the corner cases of the format.
import { readFile } from "node:fs/promises";
import path from "node:path";

import { describe, expect, it } from "vitest";

import {
  StatsFormatError,
  numericFields,
  parseShowStat,
  splitCsvLine,
} from "../../src/metrics/statsCsv.js";

const realAnswer = await readFile(
  path.join(import.meta.dirname, "show-stat-haproxy-2.6.csv"),
  "utf8",
);

describe("parseShowStat", () => {
  const rows = parseShowStat(realAnswer);

  it("returns one row per frontend, server and backend, in haproxy's order", () => {
    expect(rows.map((row) => `${row.proxy}/${row.server}`)).toEqual([
      "haproxy-0-18080/FRONTEND",
      "my_web/my-web-0-80",
      "my_web/my-web-1-80",
      "my_web/BACKEND",
    ]);
  });

  it("keys every other column by its header name", () => {
    const down = rows[1];
    expect(down?.fields.get("status")).toBe("DOWN");
    expect(down?.fields.get("check_status")).toBe("L4CON");
    expect(down?.fields.get("check_desc")).toBe("Layer4 connection problem");
    expect(down?.fields.get("addr")).toBe("127.0.0.1:1");
    expect(rows[2]?.fields.get("status")).toBe("no check");
    expect(down?.fields.has("pxname")).toBe(false);
  });

  it("leaves out haproxy 2.6's placeholder column `-`", () => {
    expect(rows.every((row) => !row.fields.has("-"))).toBe(true);
  });

  it.each([
    ["no header", "a,b,c\n"],
    ["a header of something else", "# name,value\nx,1\n"],
    ["nothing", ""],
  ])("rejects %s", (_, text) => {
    expect(() => parseShowStat(text)).toThrow(StatsFormatError);
  });
});

describe("numericFields", () => {
  it("keeps numbers (negative ones too) and drops empty and textual columns", () => {
    const [row] = parseShowStat(
      "# pxname,svname,qcur,status,lastsess,rate,check_desc,\nweb,s1,3,UP,-1,,L4 ok 1,\n",
    );
    expect(row && numericFields(row)).toEqual([
      ["qcur", 3],
      ["lastsess", -1],
    ]);
  });

  it("finds the counters of the real answer's frontend", () => {
    const frontend = parseShowStat(realAnswer)[0];
    const names = new Map(frontend ? numericFields(frontend) : []);
    expect(names.get("slim")).toBe(9985);
    expect(names.has("status")).toBe(false);
    expect(names.has("scur")).toBe(true);
  });
});

describe("splitCsvLine", () => {
  it.each([
    ["a,b,", ["a", "b"]],
    ["a,,c,", ["a", "", "c"]],
    ['a,"b,c",d,', ["a", "b,c", "d"]],
    ['"say ""hi""",x', ['say "hi"', "x"]],
  ])("%s", (line, values) => {
    expect(splitCsvLine(line)).toEqual(values);
  });
});
