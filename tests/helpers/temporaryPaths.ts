// A unit's haproxy and charm directories under a fresh temporary root, for
// tests of the apply step: haproxy's library and run directories exist, the
// configuration's and the charm state's are left for the code under test.
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Paths } from "../../src/paths.js";

export async function temporaryPaths(prefix: string): Promise<{ root: string; paths: Paths }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const paths: Paths = {
    haproxyConfig: join(root, "etc", "haproxy.cfg"),
    haproxyLib: join(root, "lib"),
    haproxyRun: join(root, "run"),
    charmState: join(root, "state"),
  };
  await Promise.all([mkdir(paths.haproxyLib), mkdir(paths.haproxyRun)]);
  return { root, paths };
}
