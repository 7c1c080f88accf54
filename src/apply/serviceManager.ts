// How the apply step drives the haproxy service. Production uses systemd;
// tests pass a manager that runs haproxy directly. When systemd cannot start
// or reload haproxy it prints only its own summary; haproxy's reason (a port
// taken, a file it cannot read) is in the journal, so it is fetched from there.
// A reload only signals haproxy's master (Debian's unit: `kill -USR2`), so it
// succeeds even when the master then cannot load the file: what haproxy
// printed since is how the apply step learns whether, and why not.

import { ApplyError } from "../lib/errors.js";
import { runProcess } from "../lib/runProcess.js";
import { timeStep } from "../lib/stepTimer.js";

export interface ServiceManager {
  isRunning(): Promise<boolean>;
  start(): Promise<void>;
  reload(): Promise<void>;
  stop(): Promise<void>;
  /** What haproxy printed since the last reload() began; "" when that cannot be read. */
  reloadOutput(): Promise<string>;
}

export interface SystemctlOptions {
  /** The systemctl executable; looked up on PATH by default. */
  readonly systemctl?: string;
  /** The journalctl executable; looked up on PATH by default. */
  readonly journalctl?: string;
  readonly unit?: string;
}

/** How many journal lines of a start or reload to look at. */
const journalLines = 50;

export class SystemctlServiceManager implements ServiceManager {
  private readonly systemctl: string;
  private readonly journalctl: string;
  private readonly unit: string;
  /** When the last reload began, in ms since the epoch. */
  private lastReload: number | undefined;

  constructor(options: SystemctlOptions = {}) {
    this.systemctl = options.systemctl ?? "systemctl";
    this.journalctl = options.journalctl ?? "journalctl";
    this.unit = options.unit ?? "haproxy";
  }

  async isRunning(): Promise<boolean> {
    const result = await timeStep("systemctl is-active", () =>
      runProcess(this.systemctl, ["is-active", "--quiet", this.unit]),
    );
    // A missing systemctl is a broken machine, not a stopped service.
    if (result.exitCode === undefined) throw this.failure(["is-active", "--quiet"], result);
    return result.exitCode === 0;
  }

  start(): Promise<void> {
    return this.run("start", { readJournal: true });
  }

  reload(): Promise<void> {
    this.lastReload = Date.now();
    return this.run("reload", { readJournal: true });
  }

  async reloadOutput(): Promise<string> {
    return this.lastReload === undefined ? "" : this.journalSince(this.lastReload);
  }

  stop(): Promise<void> {
    return this.run("stop", { readJournal: false });
  }

  private async run(verb: string, { readJournal }: { readJournal: boolean }): Promise<void> {
    const since = Date.now();
    const result = await timeStep(`systemctl ${verb}`, () =>
      runProcess(this.systemctl, [verb, this.unit]),
    );
    if (!result.failed) return;
    const journal = readJournal ? await this.journalSince(since) : "";
    throw this.failure([verb], result, journal);
  }

  /** What the unit logged since `since` (ms), or "" when the journal cannot be read. */
  private async journalSince(since: number): Promise<string> {
    const result = await runProcess(this.journalctl, [
      "--unit",
      this.unit,
      "--since",
      // systemd takes fractional epoch seconds: earlier attempts' lines stay out.
      `@${(since / 1000).toFixed(3)}`,
      "--output",
      "cat",
      "--no-pager",
      "--quiet",
      "--lines",
      String(journalLines),
    ]);
    return result.exitCode === 0 ? result.stdout.trim() : "";
  }

  private failure(
    args: readonly string[],
    result: { exitCode: number | undefined; stderr: string; reason?: string },
    journal = "",
  ): ApplyError {
    const command = [this.systemctl, ...args, this.unit].join(" ");
    const detail = result.stderr.trim() || result.reason || "no output";
    const logged = journal === "" ? "" : `\n${this.unit} logged:\n${journal}`;
    return new ApplyError(`${command} failed (exit ${result.exitCode ?? "?"}): ${detail}${logged}`);
  }
}
