// The charm exactly as users deploy it: `node scripts/pack-charm.mjs` from the
// current tree, into a temporary file each test file owns. The bundle is
// rebuilt first when a source file is newer (running vitest without make).

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, statSync } from "node:fs";
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
  execFileSync("node", [join(root, "scripts", "pack-charm.mjs"), "--output", file], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
  });
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function ensureFreshBundle(): void {
  if (modified(bundle) >= newestSource(join(root, "src"))) return;
  // Test files run in parallel: one of them bundles, the others wait for it.
  const lock = join(root, "dist", ".bundling");
  mkdirSync(join(root, "dist"), { recursive: true });
  for (let attempt = 0; attempt < 600; attempt += 1) {
    try {
      mkdirSync(lock);
    } catch {
      execFileSync("sleep", ["0.1"]);
      continue;
    }
    try {
      if (modified(bundle) < newestSource(join(root, "src"))) {
        execFileSync("node", [join(root, "scripts", "bundle.mjs")], { cwd: root, stdio: "ignore" });
      }
    } finally {
      rmdirSync(lock);
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
