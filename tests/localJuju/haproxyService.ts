// The haproxy.service of one machine, run the way Debian's systemd unit runs
// it: `haproxy -Ws -f $CONFIG -p $PIDFILE $EXTRAOPTS` with /etc/default/haproxy
// read first; reload checks the configuration (`-c -q`) and then sends the
// master USR2; stop sends SIGTERM, then SIGKILL. A start or reload haproxy has
// not reported done ("Loading success."/"Loading failure!") within systemd's
// timeout fails. systemd itself is not running here, so the model plays its
// part for this one service.

import type { ChildProcess } from "node:child_process";
import type { Machine } from "./machine.js";
import { onWholeLines } from "./wholeLines.js";

export interface ServiceResult {
  readonly ok: boolean;
  readonly message: string;
}

const serviceEnvironment = {
  CONFIG: "/etc/haproxy/haproxy.cfg",
  PIDFILE: "/run/haproxy.pid",
  EXTRAOPTS: "-S /run/haproxy-master.sock",
};

// Like EnvironmentFile=-/etc/default/haproxy: its settings win over the defaults above.
const withDefaults = "[ -r /etc/default/haproxy ] && . /etc/default/haproxy; ";

/** systemd's DefaultTimeoutStartSec and DefaultTimeoutStopSec, which Debian's unit keeps. */
const defaultTimeoutMs = 90_000;
const pollMs = 10;

// What systemd prints when a start or reload fails; haproxy's own lines are
// only in the journal.
const seeJournal =
  'See "systemctl status haproxy.service" and "journalctl -xeu haproxy.service" for details.';
const systemdFailure = `Job for haproxy.service failed because the control process exited with error code.\n${seeJournal}`;
const systemdTimeout = `Job for haproxy.service failed because a timeout was exceeded.\n${seeJournal}`;

/** The journal keeps this many of haproxy's lines. */
const journalLimit = 5000;

export interface JournalEntry {
  /** When the line arrived, in milliseconds since the epoch. */
  readonly at: number;
  readonly message: string;
}

export interface HaproxyServiceOptions {
  /** How long a start, a reload or a stop may take before it counts as failed. */
  readonly timeoutMs?: number;
}

export class HaproxyService {
  private master?: ChildProcess;
  private output = "";
  private readonly entries: JournalEntry[] = [];
  /** How many times haproxy printed "Loading success." or "Loading failure!". */
  private loads = 0;
  private lastLoadFailed = false;
  private readonly timeoutMs: number;
  /** Every start, reload and stop, for tests asserting what the charm asked for. */
  readonly history: string[] = [];

  constructor(
    private readonly machine: Machine,
    options: HaproxyServiceOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  }

  get active(): boolean {
    return (
      this.master !== undefined && this.master.exitCode === null && this.master.signalCode === null
    );
  }

  get pid(): number | undefined {
    return this.active ? this.master?.pid : undefined;
  }

  /** What haproxy printed since the machine started, newest last. */
  get log(): string {
    return this.output;
  }

  /** haproxy.service's journal: what haproxy and its reload check printed, oldest first. */
  get journal(): readonly JournalEntry[] {
    return this.entries;
  }

  async start(): Promise<ServiceResult> {
    this.history.push("start");
    if (this.active) return { ok: true, message: "" };
    const master = this.machine.spawn(
      [
        "/bin/sh",
        "-c",
        `${withDefaults}exec /usr/sbin/haproxy -Ws -f "$CONFIG" -p "$PIDFILE" $EXTRAOPTS`,
      ],
      { env: serviceEnvironment },
    );
    this.master = master;
    const loadsBefore = this.loads;
    for (const stream of [master.stdout, master.stderr])
      onWholeLines(stream, (text) => this.record(text));
    const finished = await this.waitFor(() => this.loads > loadsBefore || !this.active);
    if (!finished) {
      // Like systemd: a start that never reports ready fails, and the service is stopped.
      this.record("haproxy.service: start operation timed out. Terminating.\n");
      await this.terminate(master);
      return { ok: false, message: systemdTimeout };
    }
    if (!this.active || this.lastLoadFailed) return { ok: false, message: systemdFailure };
    return { ok: true, message: "" };
  }

  async reload(): Promise<ServiceResult> {
    this.history.push("reload");
    const master = this.master;
    if (!this.active || master?.pid === undefined) {
      return { ok: false, message: "haproxy.service is not active, cannot reload." };
    }
    const check = await this.machine.exec(
      ["/bin/sh", "-c", `${withDefaults}exec /usr/sbin/haproxy -Ws -f "$CONFIG" -c -q $EXTRAOPTS`],
      { env: serviceEnvironment },
    );
    // ExecReload's output goes to the journal, like the service's own.
    this.record(check.stdout + check.stderr);
    if (check.exitCode !== 0) return { ok: false, message: systemdFailure };
    const loadsBefore = this.loads;
    master.kill("SIGUSR2");
    // systemd returns once the signal is sent; waiting for the new worker keeps tests
    // deterministic, and a reload that never finishes must not pass for one that did.
    if (!(await this.waitFor(() => this.loads > loadsBefore || !this.active))) {
      this.record("haproxy.service: reload operation timed out.\n");
      return { ok: false, message: systemdTimeout };
    }
    return { ok: true, message: "" };
  }

  async stop(): Promise<ServiceResult> {
    this.history.push("stop");
    const master = this.master;
    if (!this.active || master === undefined) return { ok: true, message: "" };
    await this.terminate(master);
    this.master = undefined;
    return { ok: true, message: "" };
  }

  async restart(): Promise<ServiceResult> {
    await this.stop();
    return this.start();
  }

  /** SIGTERM, then SIGKILL once the stop timeout passes, as systemd stops a service. */
  private async terminate(master: ChildProcess): Promise<void> {
    const exited = (): boolean => master.exitCode !== null || master.signalCode !== null;
    master.kill("SIGTERM");
    if (await this.waitFor(exited)) return;
    master.kill("SIGKILL");
    if (!(await this.waitFor(exited))) {
      throw new Error(`haproxy.service: pid ${master.pid} survived SIGKILL`);
    }
  }

  private record(text: string): void {
    const at = Date.now();
    for (const line of text.split("\n")) {
      if (line.trim() !== "") this.entries.push({ at, message: line });
    }
    if (this.entries.length > journalLimit)
      this.entries.splice(0, this.entries.length - journalLimit);
    this.output += text;
    if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    const loads = text.match(/Loading (success\.|failure!)/g) ?? [];
    this.loads += loads.length;
    if (loads.length > 0) this.lastLoadFailed = loads[loads.length - 1] === "Loading failure!";
  }

  /** Whether `condition` held before the service's timeout passed. */
  private async waitFor(condition: () => boolean): Promise<boolean> {
    const deadline = Date.now() + this.timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return true;
  }
}
