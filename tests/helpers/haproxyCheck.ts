// Runs the real `haproxy -c` on a configuration text, for tests that need to
// know haproxy accepts what the charm renders.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export interface HaproxyCheckResult {
  /** haproxy exited 0: the configuration is valid and would start. */
  readonly ok: boolean;
  /** 0 valid; 2 valid but nothing to listen on (haproxy would not start); 1 invalid. */
  readonly exitCode: number;
  /** haproxy's stdout and stderr, interleaved: the warnings and errors it reported. */
  readonly output: string;
}

/**
 * Writes `text` to a temporary haproxy.cfg and checks it with `haproxy -c`
 * (`binary`: another haproxy, see haproxyVersions.ts). Files the configuration
 * names (certificates, errorfiles) must exist, and `user`/`group` must name
 * real accounts; listeners are not bound.
 */
export async function checkHaproxyConfig(
  text: string,
  binary = "haproxy",
): Promise<HaproxyCheckResult> {
  const dir = await mkdtemp(join(tmpdir(), "haproxy-check-"));
  try {
    const file = join(dir, "haproxy.cfg");
    // The server state file exists on a unit before haproxy first reads it
    // (the apply step makes it); here it is a fresh, empty one.
    const stateFile = join(dir, "server-state");
    await writeFile(stateFile, "1\n");
    await writeFile(file, text.replace(/^(\s*server-state-file) .*$/m, `$1 ${stateFile}`));
    const result = await execa(binary, ["-c", "-f", file], { all: true, reject: false });
    // No exit code: haproxy did not run (missing, killed); say why instead.
    if (result.exitCode === undefined)
      return { ok: false, exitCode: -1, output: result.message ?? "haproxy did not run" };
    return { ok: result.exitCode === 0, exitCode: result.exitCode, output: result.all ?? "" };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
