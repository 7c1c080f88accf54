// Test-only: one run of the real apply step, as a separate process the
// crash-consistency test can kill. Reads a job (plan, paths, haproxy's pid
// file and the log of steps) from the JSON file named by its argument.
import { appendFileSync, readFileSync } from "node:fs";

import { type ApplyPlanInput, applyPlan } from "../../../src/apply/applyPlan.js";
import type { ServiceManager } from "../../../src/apply/serviceManager.js";
import type { Paths } from "../../../src/paths.js";
import { HaproxyProcess } from "../../helpers/haproxyProcess.js";

export interface ApplyJob {
  readonly plan: ApplyPlanInput;
  readonly paths: Paths;
  /** The real haproxy to drive: its master wrote this pid file. */
  readonly pidFile: string;
  /** Receives "- service <action>" once the action is done, among the preload's steps. */
  readonly actionLog: string;
}

/** The real haproxy, with each action it completed written down in order. */
class LoggedService implements ServiceManager {
  constructor(
    private readonly inner: ServiceManager,
    private readonly log: string,
  ) {}
  isRunning(): Promise<boolean> {
    return this.inner.isRunning();
  }
  start(): Promise<void> {
    return this.logged("start", () => this.inner.start());
  }
  reload(): Promise<void> {
    return this.logged("reload", () => this.inner.reload());
  }
  stop(): Promise<void> {
    return this.logged("stop", () => this.inner.stop());
  }
  reloadOutput(): Promise<string> {
    return this.inner.reloadOutput();
  }
  private async logged(action: string, run: () => Promise<void>): Promise<void> {
    await run();
    appendFileSync(this.log, `- service ${action}\n`);
  }
}

const job = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as ApplyJob;
const service = new LoggedService(
  new HaproxyProcess({ configFile: job.paths.haproxyConfig, pidFile: job.pidFile }),
  job.actionLog,
);
const result = await applyPlan(job.plan, {
  paths: job.paths,
  haproxyBinary: "haproxy",
  service,
  fileOwner: "haproxy",
});
process.stdout.write(`${JSON.stringify(result)}\n`);
