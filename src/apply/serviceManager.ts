// How the apply step drives the haproxy service. Production uses systemd;
// tests pass a manager that runs haproxy directly.

import { execa } from "execa";
import { ApplyError } from "../errors.js";

export interface ServiceManager {
  isRunning(): Promise<boolean>;
  start(): Promise<void>;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export interface SystemctlOptions {
  /** The systemctl executable; looked up on PATH by default. */
  readonly systemctl?: string;
  readonly unit?: string;
}

export class SystemctlServiceManager implements ServiceManager {
  private readonly systemctl: string;
  private readonly unit: string;

  constructor(options: SystemctlOptions = {}) {
    this.systemctl = options.systemctl ?? "systemctl";
    this.unit = options.unit ?? "haproxy";
  }

  async isRunning(): Promise<boolean> {
    const result = await execa(this.systemctl, ["is-active", "--quiet", this.unit], {
      reject: false,
    });
    // A missing systemctl is a broken machine, not a stopped service.
    if (result.exitCode === undefined) throw this.failure(["is-active", "--quiet"], result);
    return result.exitCode === 0;
  }

  start(): Promise<void> {
    return this.run("start");
  }

  reload(): Promise<void> {
    return this.run("reload");
  }

  stop(): Promise<void> {
    return this.run("stop");
  }

  private async run(verb: string): Promise<void> {
    const result = await execa(this.systemctl, [verb, this.unit], { reject: false });
    if (result.failed) throw this.failure([verb], result);
  }

  private failure(
    args: readonly string[],
    result: { exitCode?: number; stderr: string; shortMessage?: string },
  ): ApplyError {
    const command = [this.systemctl, ...args, this.unit].join(" ");
    const detail = result.stderr.trim() || result.shortMessage || "no output";
    return new ApplyError(`${command} failed (exit ${result.exitCode ?? "?"}): ${detail}`);
  }
}
