// Which `{i}` each server gets: the one the live file shows it with while it
// stays, the lowest free one when new, its position from scratch.
import { describe, expect, it } from "vitest";

import type { ConfiguredServer } from "../../src/model/serverDelta.js";
import { serverNumbers } from "../../src/model/serverNumbers.js";

const spec = (name: string, options = "maxconn 100 cookie S{i} check") => ({
  name,
  address: "10.0.0.1",
  port: "80",
  options: [options],
});
const live = (name: string, options: string): ConfiguredServer => ({
  name,
  address: "10.0.0.1",
  port: 80,
  options: options.split(" "),
});

describe("serverNumbers", () => {
  it("numbers by position from scratch", () => {
    expect(serverNumbers([spec("a"), spec("b"), spec("c")])).toEqual([0, 1, 2]);
  });

  it("reads back the number each live server was rendered with", () => {
    const numbers = serverNumbers(
      [spec("a", "cookie x.{i}+ id 1{i}"), spec("b", "cookie x.{i}+ id 1{i}"), spec("c")],
      [live("a", "cookie x.7+ id 17"), live("b", "cookie x.3+ id 13")],
    );
    expect(numbers).toEqual([7, 3, 0]);
  });

  it("numbers afresh what the options no longer render: a changed template, leading zeros, a clash", () => {
    expect(
      serverNumbers(
        [spec("a", "cookie T{i}"), spec("b")],
        [live("a", "cookie S4"), live("b", "maxconn 100 cookie S4 check")],
      ),
    ).toEqual([0, 4]);
    expect(serverNumbers([spec("a", "cookie S{i}")], [live("a", "cookie S02")])).toEqual([0]);
    expect(
      serverNumbers(
        [spec("a", "cookie S{i}"), spec("b", "cookie S{i}")],
        [live("a", "cookie S1"), live("b", "cookie S1")],
      ),
    ).toEqual([1, 0]);
  });
});
