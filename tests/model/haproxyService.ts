// The haproxy.service of one machine, run the way Debian's systemd unit runs
// it: `haproxy -Ws -f $CONFIG -p $PIDFILE $EXTRAOPTS` with /etc/default/haproxy
// read first; reload checks the configuration (`-c -q`) and then sends the
// master USR2; stop sends SIGTERM. systemd itself is not running here, so the
// model plays its part for this one service.

import type { ChildProcess } from "node:child_process";
import type { Machine } from "./machine.js";

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

const readyTimeoutMs = 10_000;

// What systemd prints when a start or reload fails; haproxy's own lines are
// only in the journal.
const systemdFailure =
  "Job for haproxy.service failed because the control process exited with error code.\n" +
  'See "systemctl status haproxy.service" and "journalctl -xeu haproxy.service" for details.';

/** The journal keeps this many of haproxy's lines. */
const journalLimit = 5000;

export interface JournalEntry {
  /** When the line arrived, in milliseconds since the epoch. */
  readonly at: number;
  readonly message: string;
}

export class HaproxyService {
  private master?: ChildProcess;
  private output = "";
  private readonly entries: JournalEntry[] = [];
  /** How many times haproxy printed "Loading success." or "Loading failure!". */
  private loads = 0;
  private lastLoadFailed = false;
  private readonly waiters = new Set<() => void>();
  /** Every start, reload and stop, for tests asserting what the charm asked for. */
  readonly history: string[] = [];

  constructor(private readonly machine: Machine) {}

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
    const onOutput = (chunk: Buffer): void => this.record(chunk.toString());
    master.stdout?.on("data", onOutput);
    master.stderr?.on("data", onOutput);
    master.on("exit", () => this.wake());
    await this.waitFor(() => this.loads > loadsBefore || !this.active);
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
    // systemd returns once the signal is sent; waiting for the new worker keeps tests deterministic.
    await this.waitFor(() => this.loads > loadsBefore || !this.active);
    return { ok: true, message: "" };
  }

  async stop(): Promise<ServiceResult> {
    this.history.push("stop");
    const master = this.master;
    if (!this.active || master === undefined) return { ok: true, message: "" };
    master.kill("SIGTERM");
    await this.waitFor(() => !this.active);
    if (this.active) master.kill("SIGKILL");
    this.master = undefined;
    return { ok: true, message: "" };
  }

  async restart(): Promise<ServiceResult> {
    await this.stop();
    return this.start();
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
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
  }

  private waitFor(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (condition()) done();
      };
      const timer = setTimeout(done, readyTimeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}
