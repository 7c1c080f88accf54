import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SystemctlServiceManager } from "../../src/apply/serviceManager.js";
import { ApplyError } from "../../src/lib/errors.js";

// A stand-in systemctl: records its arguments and answers like systemd for
// an "active" state kept in a file; a start fails like systemd's while a
// "blocked" file exists. A stand-in journalctl records its arguments and
// prints haproxy's lines as `journalctl --output cat` would.
let dir: string;
let manager: SystemctlServiceManager;

async function writeScript(name: string, lines: readonly string[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, ["#!/bin/sh", ...lines, ""].join("\n"));
  await chmod(file, 0o755);
  return file;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "systemctl-"));
  const script = await writeScript("systemctl", [
    `echo "$*" >> "${dir}/calls"`,
    'case "$1" in',
    `  is-active) [ -f "${dir}/active" ] ;;`,
    `  start) if [ -f "${dir}/blocked" ]; then printf '%s\\n' "Job for $2.service failed because the control process exited with error code." "See \\"systemctl status $2.service\\" and \\"journalctl -xeu $2.service\\" for details." >&2; exit 1; fi; touch "${dir}/active" ;;`,
    `  stop) rm -f "${dir}/active" ;;`,
    `  reload) if [ -f "${dir}/active" ]; then exit 0; fi; echo "Job for $2.service failed." >&2; exit 1 ;;`,
    "esac",
  ]);
  const journalctl = await writeScript("journalctl", [
    `echo "$*" >> "${dir}/journal-calls"`,
    "echo '[NOTICE]   (4242) : haproxy version is 2.6.12'",
    "echo '[ALERT]    (4242) : Starting frontend haproxy-0-80: cannot bind socket (Address already in use) [0.0.0.0:80]'",
    "echo 'haproxy.service: Main process exited, code=exited, status=1/FAILURE'",
  ]);
  manager = new SystemctlServiceManager({ systemctl: script, journalctl });
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
      /systemctl reload haproxy failed \(exit 1\): Job for haproxy.service failed\.\nhaproxy logged:\n/,
    );
  });

  it("adds what haproxy logged since the attempt when systemd cannot start it", async () => {
    await writeFile(join(dir, "blocked"), "");
    const before = Date.now() / 1000;
    const error = await manager.start().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApplyError);
    const message = (error as ApplyError).message;
    expect(message).toMatch(
      /systemctl start haproxy failed \(exit 1\): Job for haproxy.service failed/,
    );
    expect(message).toContain(
      "\nhaproxy logged:\n[NOTICE]   (4242) : haproxy version is 2.6.12\n[ALERT]    (4242) : Starting frontend haproxy-0-80: cannot bind socket (Address already in use) [0.0.0.0:80]\n",
    );
    // The journal is read for this unit, from the millisecond of the attempt, as plain messages.
    const [call] = (await readFile(join(dir, "journal-calls"), "utf8")).trim().split("\n");
    const since = Number(/--since @(\d+\.\d{3}) /.exec(call ?? "")?.[1]);
    expect(since).toBeGreaterThanOrEqual(Math.floor(before * 1000) / 1000);
    expect(since).toBeLessThanOrEqual(Date.now() / 1000);
    expect(call?.replace(/@[\d.]+/, "@N")).toBe(
      "--unit haproxy --since @N --output cat --no-pager --quiet --lines 50",
    );
  });

  it("reads what haproxy logged since the last reload began, for a reload that did not load", async () => {
    await manager.start();
    expect(await manager.reloadOutput()).toBe("");
    const before = Date.now() / 1000;
    await manager.reload();
    expect(await manager.reloadOutput()).toContain("[ALERT]    (4242) : Starting frontend");
    const call = (await readFile(join(dir, "journal-calls"), "utf8")).trim().split("\n").at(-1);
    const since = Number(/--since @(\d+\.\d{3}) /.exec(call ?? "")?.[1]);
    expect(since).toBeGreaterThanOrEqual(Math.floor(before * 1000) / 1000);
  });

  it("still reports systemd's summary when the journal cannot be read", async () => {
    await writeFile(join(dir, "blocked"), "");
    const blind = new SystemctlServiceManager({
      systemctl: join(dir, "systemctl"),
      journalctl: join(dir, "no-journalctl"),
    });
    const error = await blind.start().catch((caught: unknown) => caught);
    expect((error as ApplyError).message).toMatch(
      /systemctl start haproxy failed \(exit 1\): Job for haproxy.service failed because the control process exited with error code\.\nSee "systemctl status haproxy.service" and "journalctl -xeu haproxy.service" for details\.$/,
    );
  });

  it("treats a missing systemctl as an error, not as a stopped service", async () => {
    const missing = new SystemctlServiceManager({ systemctl: join(dir, "nothing-here") });
    await expect(missing.isRunning()).rejects.toBeInstanceOf(ApplyError);
  });
});
