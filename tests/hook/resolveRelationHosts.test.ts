// Names from relation data are looked up before they are served; a lookup
// that fails or does not answer in time leaves the name without addresses
// (and so not served), never the hook hanging.
import { afterEach, describe, expect, it, vi } from "vitest";

import { type LookupAddresses, resolveRelationHosts } from "../../src/hook/resolveRelationHosts.js";

const answers: Readonly<Record<string, string[]>> = {
  "web.internal": ["10.0.0.5", "10.0.0.6"],
};

/** Answers for the names above, fails for unknown ones, never answers for `*.silent`. */
const lookupAddresses: LookupAddresses = (name) => {
  if (name.endsWith(".silent")) return new Promise(() => undefined);
  const found = answers[name];
  return found === undefined
    ? Promise.reject(new Error(`ENOTFOUND ${name}`))
    : Promise.resolve(found);
};

describe("resolveRelationHosts", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("gives each name's addresses, and [] for a name that does not resolve", async () => {
    expect(
      await resolveRelationHosts(["web.internal", "gone.internal"], { lookupAddresses }),
    ).toEqual({ "web.internal": ["10.0.0.5", "10.0.0.6"], "gone.internal": [] });
  });

  it("gives [] for a name whose lookup takes longer than its deadline", async () => {
    const started = Date.now();
    const resolved = await resolveRelationHosts(["web.internal", "db.silent"], {
      deadlineMs: 50,
      lookupAddresses,
    });
    expect(resolved).toEqual({ "web.internal": ["10.0.0.5", "10.0.0.6"], "db.silent": [] });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("waits 3 s for a lookup unless told otherwise", async () => {
    vi.useFakeTimers();
    let resolved: unknown;
    void resolveRelationHosts(["db.silent"], { lookupAddresses }).then((hosts) => {
      resolved = hosts;
    });
    await vi.advanceTimersByTimeAsync(2999);
    expect(resolved).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(resolved).toEqual({ "db.silent": [] });
  });
});
