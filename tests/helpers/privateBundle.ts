// The bundled CLI, built from the current sources into a directory of the
// calling test file's own: dist/ is rebuilt (deleted first) by make and by
// the packed-charm tests, which may run at the same time in other workers.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { execa } from "execa";

const root = path.resolve(import.meta.dirname, "../..");

export interface PrivateBundle {
  /** The bundle's directory, what dist/ is in the charm. */
  readonly dir: string;
  /** Its entry point, dist/haproxy-charm.mjs in the charm. */
  readonly cli: string;
  cleanup(): Promise<void>;
}

export async function buildPrivateBundle(): Promise<PrivateBundle> {
  const parent = await mkdtemp(path.join(tmpdir(), "charm-bundle-"));
  const dir = path.join(parent, "dist");
  try {
    await execa("node", [path.join(root, "scripts", "bundle.mjs"), dir], { cwd: root });
  } catch (error) {
    await rm(parent, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    cli: path.join(dir, "haproxy-charm.mjs"),
    cleanup: () => rm(parent, { recursive: true, force: true }),
  };
}
