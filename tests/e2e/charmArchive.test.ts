// The packed charm holds exactly what charmcraft.yaml primes plus the
// manifest Juju reads, with exec bits intact: what `juju deploy` needs.

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { PackedCharm } from "./packedCharm.js";
import { packCharm } from "./packedCharm.js";

const root = resolve(import.meta.dirname, "../..");
let charm: PackedCharm;

/** Zip entries (files only) with their Unix permission strings. */
function zipEntries(file: string): Map<string, string> {
  const listing = execFileSync("unzip", ["-Z", file], { encoding: "utf8" }).split("\n");
  const entries = new Map<string, string>();
  for (const line of listing) {
    const fields = line.trim().split(/\s+/);
    const [mode = "", , , , , , , , name] = fields;
    if (mode.startsWith("-") && name !== undefined) entries.set(fields.slice(8).join(" "), mode);
  }
  return entries;
}

function filesUnder(path: string): string[] {
  if (!statSync(join(root, path)).isDirectory()) return [path];
  return readdirSync(join(root, path)).flatMap((entry) => filesUnder(join(path, entry)));
}

beforeAll(() => {
  charm = packCharm();
});

afterAll(() => charm?.cleanup());

it("holds the primed files and manifest.yaml, nothing else", () => {
  const recipe = yaml.load(readFileSync(join(root, "charmcraft.yaml"), "utf8")) as {
    parts: { charm: { prime: string[] } };
  };
  const expected = [...recipe.parts.charm.prime.flatMap(filesUnder), "manifest.yaml"].sort();
  expect([...zipEntries(charm.file).keys()].sort()).toEqual(expected);
  for (const needed of ["dispatch", "metadata.yaml", "config.yaml", "dist/haproxy-charm.mjs"]) {
    expect(expected).toContain(needed);
  }
});

it("keeps dispatch and every hook executable", () => {
  const entries = zipEntries(charm.file);
  const executables = [...entries].filter(
    ([name]) => name === "dispatch" || /^hooks\/[^/]+$/.test(name),
  );
  expect(executables.length).toBeGreaterThan(10);
  for (const [name, mode] of executables) expect(`${name} ${mode}`).toMatch(/ -rwx/);
});

it("declares Ubuntu 24.04 on amd64 and arm64 in manifest.yaml", () => {
  const manifest = yaml.load(
    execFileSync("unzip", ["-p", charm.file, "manifest.yaml"], { encoding: "utf8" }),
  ) as Record<string, unknown>;
  expect(manifest.bases).toEqual([
    { name: "ubuntu", channel: "24.04", architectures: ["amd64", "arm64"] },
  ]);
  expect(typeof manifest["charmcraft-started-at"]).toBe("string");
});
