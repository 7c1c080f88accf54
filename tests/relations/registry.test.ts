// The endpoint registry: one entry for each endpoint of metadata.yaml, and
// each relation hook handled as the charm's users rely on.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { load } from "js-yaml";
import { describe, expect, it } from "vitest";

import { ENDPOINTS, relationHookHandling } from "../../src/relations/registry.js";

const METADATA = resolve(dirname(fileURLToPath(import.meta.url)), "../../metadata.yaml");

interface Metadata {
  readonly provides?: Record<string, unknown>;
  readonly requires?: Record<string, unknown>;
  readonly peers?: Record<string, unknown>;
}

const KINDS = ["created", "joined", "changed", "departed", "broken"] as const;

/** What each relation hook does: reconcile (then upkeep), upkeep (after a reconcile), publish alone, or nothing. */
const DISPATCH: Record<string, Record<(typeof KINDS)[number], string>> = {
  reverseproxy: {
    created: "quiet",
    joined: "publish",
    changed: "reconcile",
    departed: "reconcile",
    broken: "reconcile",
  },
  ...Object.fromEntries(
    [
      "peer",
      "website",
      "ingress",
      "ingress-per-unit",
      "haproxy-route",
      "haproxy-route-tcp",
      "certificates",
      "cos-agent",
      "receive-ca-certs",
    ].map((endpoint) => [
      endpoint,
      {
        created: "quiet",
        joined: "reconcile",
        changed: "reconcile",
        departed: "reconcile",
        broken: "reconcile",
      },
    ]),
  ),
  ...Object.fromEntries(
    ["statistics", "nrpe-external-master", "local-monitors"].map((endpoint) => [
      endpoint,
      {
        created: "quiet",
        joined: "upkeep",
        changed: "upkeep",
        departed: "quiet",
        broken: "quiet",
      },
    ]),
  ),
  munin: {
    created: "quiet",
    joined: "quiet",
    changed: "quiet",
    departed: "quiet",
    broken: "quiet",
  },
};

async function metadataEndpoints(): Promise<string[]> {
  const metadata = load(await readFile(METADATA, "utf8")) as Metadata;
  return [metadata.provides, metadata.requires, metadata.peers].flatMap((section) =>
    Object.keys(section ?? {}),
  );
}

describe("the endpoint registry", () => {
  it("has exactly one entry for each endpoint of metadata.yaml, and no other", async () => {
    const names = ENDPOINTS.map((endpoint) => endpoint.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual((await metadataEndpoints()).sort());
  });

  it("handles every relation hook as before", async () => {
    const endpoints = await metadataEndpoints();
    expect(Object.keys(DISPATCH).sort()).toEqual([...endpoints].sort());
    for (const endpoint of endpoints) {
      for (const kind of KINDS) {
        const hook = `${endpoint}-relation-${kind}`;
        expect(relationHookHandling(hook), hook).toBe(DISPATCH[endpoint]?.[kind]);
      }
    }
  });

  it("leaves the charm's own events and unknown endpoints to the hook layer", () => {
    for (const hook of ["install", "config-changed", "update-status", "some-future-event"]) {
      expect(relationHookHandling(hook), hook).toBeUndefined();
    }
    expect(relationHookHandling("unknown-relation-changed")).toBeUndefined();
  });

  it("keeps the classic relations' hooks away from certificates and cos-agent", () => {
    const classic = ENDPOINTS.filter((endpoint) => endpoint.classic === true);
    expect(classic.map((endpoint) => endpoint.name).sort()).toEqual([
      "peer",
      "reverseproxy",
      "website",
    ]);
  });

  it("gives every hook that publishes alone something to publish", () => {
    for (const endpoint of ENDPOINTS) {
      if (Object.values(endpoint.hooks).includes("publish")) {
        expect(endpoint.publishAlone, endpoint.name).toBeDefined();
      }
    }
  });
});
