// The model's haproxy.service when haproxy misbehaves: a start or a reload
// that never finishes fails with systemd's timeout instead of passing for
// done, a line haproxy writes in two pieces still counts, and a haproxy that
// ignores SIGTERM is killed. One machine of the model's own kind; stand-in
// haproxy scripts are mounted over its /usr/sbin/haproxy where needed.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { resourcePrefix, track, untrack } from "./cleanup.js";
import { HaproxyService } from "./haproxyService.js";
import { Machine } from "./machine.js";
import { Network } from "./network.js";

const timeoutMs = 2000;
let dir: string;
let network: Network;
let machine: Machine;
const teardown = {
  destroySync(): void {
    machine?.destroySync();
    network?.destroySync();
    rmSync(dir, { recursive: true, force: true });
  },
};

const lines = (service: HaproxyService) => service.journal.map((entry) => entry.message);

/** Mounts a script over the machine's /usr/sbin/haproxy until the test ends. */
async function standInHaproxy(name: string, script: string): Promise<void> {
  const file = join(dir, name);
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  const mounted = await machine.exec(["mount", "--bind", file, "/usr/sbin/haproxy"]);
  expect(mounted.stderr).toBe("");
}

beforeAll(async () => {
  const prefix = `${resourcePrefix}-${process.pid}-service`;
  dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  track(teardown);
  network = await Network.create(prefix, "10.87.0");
  mkdirSync(join(dir, "m0"));
  machine = await Machine.create(network, {
    id: 0,
    namespace: `${prefix}-m0`,
    hostname: "service-test",
    dir: join(dir, "m0"),
    ownFilesystem: true,
    shims: new Map(),
  });
});

afterEach(async () => {
  await machine.exec([
    "/bin/sh",
    "-c",
    "umount /usr/sbin/haproxy 2>/dev/null; rm -f /etc/default/haproxy /run/never.cfg",
  ]);
});

afterAll(() => {
  untrack(teardown);
  teardown.destroySync();
});

describe("haproxy.service in the local model", () => {
  it("fails a start haproxy never reports done, after the timeout, and stops it", async () => {
    // A real haproxy reading its configuration from a FIFO nobody writes: it waits forever.
    const setup = await machine.exec([
      "/bin/sh",
      "-c",
      "mkfifo /run/never.cfg && echo CONFIG=/run/never.cfg > /etc/default/haproxy",
    ]);
    expect(setup.exitCode).toBe(0);
    const service = new HaproxyService(machine, { timeoutMs });
    const started = Date.now();
    const result = await service.start();
    expect(Date.now() - started).toBeGreaterThanOrEqual(timeoutMs);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(
      /^Job for haproxy.service failed because a timeout was exceeded/,
    );
    expect(service.active).toBe(false);
    expect(lines(service)).toContain("haproxy.service: start operation timed out. Terminating.");
  });

  it("counts a line haproxy writes in two pieces", async () => {
    await standInHaproxy(
      "split-line",
      [
        "#!/bin/sh",
        "printf '[NOTICE]   (1) : Loading succ' >&2",
        "sleep 0.5",
        "printf 'ess.\\n' >&2",
        "exec sleep 1000",
      ].join("\n"),
    );
    const service = new HaproxyService(machine, { timeoutMs: 10 * timeoutMs });
    expect(await service.start()).toEqual({ ok: true, message: "" });
    expect(lines(service)).toEqual(["[NOTICE]   (1) : Loading success."]);
    expect(await service.stop()).toEqual({ ok: true, message: "" });
    expect(service.active).toBe(false);
  });

  it("fails a reload haproxy never reports done, and kills a haproxy that ignores SIGTERM", async () => {
    await standInHaproxy(
      "stubborn",
      [
        "#!/bin/sh",
        // The reload's configuration check passes.
        'case " $* " in *" -c "*) exit 0 ;; esac',
        "trap '' TERM USR2",
        "echo '[NOTICE]   (1) : Loading success.' >&2",
        "while :; do sleep 1; done",
      ].join("\n"),
    );
    const service = new HaproxyService(machine, { timeoutMs });
    expect(await service.start()).toEqual({ ok: true, message: "" });
    const reloaded = await service.reload();
    expect(reloaded.ok).toBe(false);
    expect(reloaded.message).toMatch(/because a timeout was exceeded/);
    expect(lines(service)).toContain("haproxy.service: reload operation timed out.");
    expect(service.active).toBe(true);

    const stopping = Date.now();
    expect(await service.stop()).toEqual({ ok: true, message: "" });
    expect(Date.now() - stopping).toBeGreaterThanOrEqual(timeoutMs);
    expect(service.active).toBe(false);
  });
});
