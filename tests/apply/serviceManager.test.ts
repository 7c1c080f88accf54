import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SystemctlServiceManager } from "../../src/apply/serviceManager.js";
import { ApplyError } from "../../src/errors.js";

// A stand-in systemctl: records its arguments and answers like systemd for
// an "active" state kept in a file.
let dir: string;
let manager: SystemctlServiceManager;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "systemctl-"));
  const script = join(dir, "systemctl");
  await writeFile(
    script,
    [
      "#!/bin/sh",
      `echo "$*" >> "${dir}/calls"`,
      'case "$1" in',
      `  is-active) [ -f "${dir}/active" ] ;;`,
      `  start) touch "${dir}/active" ;;`,
      `  stop) rm -f "${dir}/active" ;;`,
      `  reload) if [ -f "${dir}/active" ]; then exit 0; fi; echo "Job for $2.service failed." >&2; exit 1 ;;`,
      "esac",
      "",
    ].join("\n"),
  );
  await chmod(script, 0o755);
  manager = new SystemctlServiceManager({ systemctl: script });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("SystemctlServiceManager", () => {
  it("drives the haproxy unit with systemctl's own verbs", async () => {
    expect(await manager.isRunning()).toBe(false);
    await manager.start();
    expect(await manager.isRunning()).toBe(true);
    await manager.reload();
    await manager.stop();

    const calls = (await readFile(join(dir, "calls"), "utf8")).trim().split("\n");
    expect(calls).toEqual([
      "is-active --quiet haproxy",
      "start haproxy",
      "is-active --quiet haproxy",
      "reload haproxy",
      "stop haproxy",
    ]);
  });

  it("turns a failing command into ApplyError carrying its stderr", async () => {
    const error = await manager.reload().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as ApplyError).message).toMatch(
      /systemctl reload haproxy failed \(exit 1\): Job for haproxy.service failed\.$/,
    );
  });

  it("treats a missing systemctl as an error, not as a stopped service", async () => {
    const missing = new SystemctlServiceManager({ systemctl: join(dir, "nothing-here") });
    await expect(missing.isRunning()).rejects.toBeInstanceOf(ApplyError);
  });
});
