// `vip` and `vip_router_id` parsed into typed input, and what they reject.
import { describe, expect, it } from "vitest";

import { ConfigError } from "../../src/lib/errors.js";
import { advertisedVip, parseVipOption } from "../../src/config/vipOption.js";

const option = (vip: string, vip_router_id = 0) => parseVipOption({ vip, vip_router_id });

describe("parseVipOption", () => {
  it.each([
    ["", undefined],
    ["   ", undefined],
    ["10.0.0.100", { addresses: [{ address: "10.0.0.100" }] }],
    [
      " 10.0.0.100/16  10.0.0.101 ",
      { addresses: [{ address: "10.0.0.100", prefix: 16 }, { address: "10.0.0.101" }] },
    ],
  ])("reads %j", (vip, want) => {
    expect(option(vip)).toEqual(want);
  });

  it("keeps an explicit router id, and derives one for 0", () => {
    expect(option("10.0.0.100", 42)).toEqual({
      addresses: [{ address: "10.0.0.100" }],
      routerId: 42,
    });
    expect(option("10.0.0.100", 0)?.routerId).toBeUndefined();
  });

  it.each([
    ["10.0.0", /"10.0.0" is not an IPv4 address/],
    ["10.0.0.256", /not an IPv4 address/],
    ["10.0.0.1/33", /not an IPv4 address/],
    ["10.0.0.1/0", /not an IPv4 address/],
    ["10.0.0.1/x", /not an IPv4 address/],
    ["10.0.0.1/16/2", /not an IPv4 address/],
    ["fe80::1", /not an IPv4 address/],
    ["vip.example.com", /not an IPv4 address/],
    ["10.0.0.1 10.0.0.1/24", /10.0.0.1 is listed twice/],
    ["127.0.0.5", /not a unicast address/],
    ["0.0.0.0", /not a unicast address/],
    ["224.0.0.18", /not a unicast address/],
  ])("refuses vip=%j, naming the option", (vip, problem) => {
    expect(() => option(vip)).toThrow(ConfigError);
    expect(() => option(vip)).toThrow(/^config option vip: /);
    expect(() => option(vip)).toThrow(problem);
  });

  it.each([-1, 256, 1.5])("refuses vip_router_id=%j", (id) => {
    expect(() => option("10.0.0.100", id)).toThrow(/^config option vip_router_id: must be 1-255/);
  });
});

describe("advertisedVip", () => {
  it("is the first address when the option parses, else nothing", () => {
    expect(advertisedVip({ vip: "10.0.0.100/16 10.0.0.101", vip_router_id: 0 })).toBe("10.0.0.100");
    expect(advertisedVip({ vip: "", vip_router_id: 0 })).toBeUndefined();
    expect(advertisedVip({ vip: "nonsense", vip_router_id: 0 })).toBeUndefined();
  });
});
