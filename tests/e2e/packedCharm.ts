// The charm exactly as users deploy it: `node scripts/pack-charm.mjs` from the
// current tree, into a temporary file each test file owns. The bundle is
// rebuilt first when one of its inputs is newer (running vitest without make).

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const bundle = join(root, "dist", "haproxy-charm.mjs");

export interface PackedCharm {
  readonly file: string;
  cleanup(): void;
}

export function packCharm(): PackedCharm {
  ensureFreshBundle();
  const dir = mkdtempSync(join(tmpdir(), "haproxy-charm-"));
  const file = join(dir, "haproxy.charm");
  try {
    execFileSync("node", [join(root, "scripts", "pack-charm.mjs"), "--output", file], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What the bundle is built from: the CLI's sources, its templates and the build scripts. */
function newestInput(): number {
  return Math.max(...["src", "templates", "scripts"].map((dir) => newestSource(join(root, dir))));
}

function ensureFreshBundle(): void {
  if (modified(bundle) >= newestInput()) return;
  // Test files run in parallel: one of them bundles, the others wait for it.
  // The lock lives outside dist/, which the bundle script deletes.
  const lock = join(root, "build", ".bundle-lock");
  mkdirSync(join(root, "build"), { recursive: true });
  for (let attempt = 0; attempt < 600; attempt += 1) {
    try {
      mkdirSync(lock);
    } catch {
      // A lock left by a killed run must not block every later one.
      const since = modified(lock);
      if (since > 0 && Date.now() - since > 120_000) rmSync(lock, { recursive: true, force: true });
      execFileSync("sleep", ["0.1"]);
      continue;
    }
    try {
      if (modified(bundle) < newestInput()) {
        execFileSync("node", [join(root, "scripts", "bundle.mjs")], { cwd: root, stdio: "ignore" });
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
    return;
  }
  throw new Error("timed out waiting for another test file to bundle the charm");
}

function modified(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : modified(path));
  }
  return newest;
}
