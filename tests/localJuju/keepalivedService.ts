// keepalived.service of one machine, run as Debian's unit runs it: only when
// /etc/keepalived/keepalived.conf is not empty (ConditionFileNotEmpty),
// `keepalived --dont-fork $DAEMON_ARGS` with /etc/default/keepalived read
// first, reload by SIGHUP, stop by SIGTERM (keepalived then gives up the
// addresses it holds), then SIGKILL. A real keepalived in the machine's
// network and mount namespaces: its VRRP adverts cross the model's switch and
// the VIP lands on the machine's own eth0. It logs to its console, which is
// the service's journal here.

import type { ChildProcess } from "node:child_process";
import type { Machine } from "./machine.js";
import { onWholeLines } from "./wholeLines.js";
import type { JournalEntry, ServiceResult } from "./haproxyService.js";

const CONFIG = "/etc/keepalived/keepalived.conf";
const timeoutMs = 90_000;
const pollMs = 10;
const journalLimit = 5000;

export class KeepalivedService {
  private main?: ChildProcess;
  private readonly entries: JournalEntry[] = [];
  private startups = 0;
  private reloads = 0;
  /** Every start, reload and stop the charm asked for. */
  readonly history: string[] = [];
  /** `systemctl enable`d (Debian enables it when the package is installed). */
  enabled = true;

  constructor(private readonly machine: Machine) {}

  get active(): boolean {
    return this.main !== undefined && this.main.exitCode === null && this.main.signalCode === null;
  }

  get pid(): number | undefined {
    return this.active ? this.main?.pid : undefined;
  }

  /** What keepalived logged, oldest first. */
  get journal(): readonly JournalEntry[] {
    return this.entries;
  }

  async start(): Promise<ServiceResult> {
    this.history.push("start");
    if (this.active) return { ok: true, message: "" };
    const config = await this.machine.exec(["test", "-s", CONFIG]);
    // systemd skips the start without an error when the condition fails.
    if (config.exitCode !== 0) return { ok: true, message: "" };
    const before = this.startups;
    const main = this.machine.spawn([
      "/bin/sh",
      "-c",
      "[ -r /etc/default/keepalived ] && . /etc/default/keepalived; " +
        "exec /usr/sbin/keepalived --dont-fork --log-console $DAEMON_ARGS",
    ]);
    this.main = main;
    for (const stream of [main.stdout, main.stderr])
      onWholeLines(stream, (text) => this.record(text));
    if (!(await this.waitFor(() => this.startups > before || !this.active))) {
      await this.stop();
      return {
        ok: false,
        message: "Job for keepalived.service failed because a timeout was exceeded.",
      };
    }
    if (!this.active) {
      return {
        ok: false,
        message:
          "Job for keepalived.service failed because the control process exited with error code.",
      };
    }
    return { ok: true, message: "" };
  }

  async reload(): Promise<ServiceResult> {
    this.history.push("reload");
    const main = this.main;
    if (!this.active || main === undefined) {
      return { ok: false, message: "keepalived.service is not active, cannot reload." };
    }
    const before = this.reloads;
    main.kill("SIGHUP");
    // systemd returns once the signal is sent; waiting keeps tests deterministic.
    await this.waitFor(() => this.reloads > before || !this.active);
    return { ok: true, message: "" };
  }

  async stop(): Promise<ServiceResult> {
    this.history.push("stop");
    const main = this.main;
    if (!this.active || main === undefined) return { ok: true, message: "" };
    const exited = (): boolean => main.exitCode !== null || main.signalCode !== null;
    main.kill("SIGTERM");
    if (!(await this.waitFor(exited))) {
      main.kill("SIGKILL");
      await this.waitFor(exited);
    }
    this.main = undefined;
    return { ok: true, message: "" };
  }

  async restart(): Promise<ServiceResult> {
    await this.stop();
    return this.start();
  }

  private record(text: string): void {
    const at = Date.now();
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      this.entries.push({ at, message: line });
      if (line.includes("Startup complete")) this.startups += 1;
      if (line.includes("Reload complete")) this.reloads += 1;
    }
    if (this.entries.length > journalLimit)
      this.entries.splice(0, this.entries.length - journalLimit);
  }

  private async waitFor(condition: () => boolean): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return true;
  }
}
