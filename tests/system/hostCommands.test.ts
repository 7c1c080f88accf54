// apt-get as the charm runs it: only the package's dependencies come with it,
// and the process is given time to finish once dpkg's lock wait is over (a
// real process shows the deadline is enforced). Package commands are recorded.
import { describe, expect, it } from "vitest";

import {
  type CommandResult,
  type HostCommands,
  execaHostCommands,
} from "../../src/system/hostCommands.js";
import { ensureKeepalivedInstalled } from "../../src/vip/keepalivedService.js";

class TimedRecorder implements HostCommands {
  readonly calls: { line: string; timeoutMs: number | undefined }[] = [];

  async run(
    command: string,
    args: readonly string[],
    _input?: string,
    timeoutMs?: number,
  ): Promise<CommandResult> {
    this.calls.push({ line: [command, ...args].join(" "), timeoutMs });
    // dpkg -s: not installed.
    return { exitCode: command === "dpkg" ? 1 : 0, stdout: "", stderr: "" };
  }
}

describe("installing keepalived", () => {
  it("installs keepalived without its recommends, outliving dpkg's lock wait", async () => {
    const host = new TimedRecorder();
    expect(await ensureKeepalivedInstalled(host)).toBe(true);
    const install = host.calls.find((call) => call.line.startsWith("apt-get"));
    expect(install?.line).toBe(
      "apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends keepalived",
    );
    const lockWaitMs = Number(/Lock::Timeout=(\d+)/.exec(install?.line ?? "")?.[1]) * 1000;
    // Past the lock wait, a download and install of several minutes still fits.
    expect(install?.timeoutMs).toBeGreaterThanOrEqual(lockWaitMs + 600_000);
  });
});

describe("execaHostCommands", () => {
  it("kills a command past its deadline", async () => {
    const started = Date.now();
    const result = await execaHostCommands.run("sleep", ["30"], undefined, 300);
    expect(result.exitCode).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
