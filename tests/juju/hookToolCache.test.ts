// The hook-tool cache document: only a file exactly as this version writes it
// is trusted, and a bag read back from Juju compares as the cache would.
import { describe, expect, it } from "vitest";

import {
  type HookToolCache,
  bagUnchanged,
  emptyHookToolCache,
  parseHookToolCache,
  readBack,
  serializeHookToolCache,
} from "../../src/juju/hookToolCache.js";

const full: HookToolCache = {
  config: { services: "- {service_name: web}" },
  addresses: { "private-address": "10.0.0.1", "public-address": "203.0.113.1" },
  openedPorts: ["80/tcp"],
  unitBags: { "reverseproxy:1": { "public-address": "203.0.113.1", ssl_cert: "" } },
  appBags: { "ingress:2": { ingress: '{"url": "http://a/b/"}' } },
  status: { status: "active", message: "Unit is ready" },
};

describe("parseHookToolCache", () => {
  it("reads back what it wrote", () => {
    expect(parseHookToolCache(serializeHookToolCache(full))).toEqual(full);
  });

  const written = JSON.parse(serializeHookToolCache(full)) as Record<string, unknown>;
  it.each<[string, string | undefined]>([
    ["no file", undefined],
    ["not JSON", "{not json"],
    ["a list", "[]"],
    ["another version", JSON.stringify({ ...written, version: 2 })],
    ["no version", JSON.stringify({ ...written, version: undefined })],
    ["an address of another kind", JSON.stringify({ ...written, addresses: { mac: "x" } })],
    ["a bag with a number", JSON.stringify({ ...written, unitBags: { "r:1": { port: 80 } } })],
    ["bags as a list", JSON.stringify({ ...written, appBags: [] })],
    ["an unknown status", JSON.stringify({ ...written, status: { status: "error", message: "" } })],
    ["ports as a string", JSON.stringify({ ...written, openedPorts: "80/tcp" })],
  ])("trusts nothing of a file with %s", (_, text) => {
    expect(parseHookToolCache(text)).toEqual(emptyHookToolCache);
  });
});

describe("bagUnchanged", () => {
  it.each<[string, Record<string, string> | undefined, Record<string, string>, boolean]>([
    ["nothing known", undefined, { a: "1" }, false],
    ["the same values", { a: "1", b: "2" }, { a: "1" }, true],
    ["a new value", { a: "1" }, { a: "2" }, false],
    ["a key never set", { a: "1" }, { b: "" }, false],
    ["a key deleted before", { a: "1", b: "" }, { b: "" }, true],
  ])("%s", (_, last, settings, unchanged) => {
    expect(bagUnchanged(last, settings)).toBe(unchanged);
  });
});

describe("readBack", () => {
  it("writes a key the bag no longer holds as deleted, and takes the bag's values", () => {
    const bag = readBack({ a: "1", b: "", c: "3" }, { a: "9", "private-address": "10.0.0.1" });
    expect(bag).toEqual({ a: "9", b: "", c: "", "private-address": "10.0.0.1" });
    expect(bagUnchanged(bag, { b: "" })).toBe(true);
    expect(bagUnchanged(bag, { c: "3" })).toBe(false);
  });
});
