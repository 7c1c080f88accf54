// Test-only: one run of the real apply step, as a separate process the
// crash-consistency test can kill. Reads a job (plan, paths, and either
// haproxy's pid file or a file to write service actions to) from the JSON
// file named by its argument.
import { appendFileSync, readFileSync } from "node:fs";

import { type ApplyPlanInput, applyPlan } from "../../../src/apply/applyPlan.js";
import type { ServiceManager } from "../../../src/apply/serviceManager.js";
import type { Paths } from "../../../src/paths.js";
import { HaproxyProcess } from "../../helpers/haproxyProcess.js";

export interface ApplyJob {
  readonly plan: ApplyPlanInput;
  readonly paths: Paths;
  /** Drive the real haproxy whose master wrote this pid file... */
  readonly pidFile?: string;
  /** ...or stand in for a running haproxy and write each action to this file. */
  readonly actionLog?: string;
}

/** A running haproxy that only writes down what it was asked to do. */
class LoggingService implements ServiceManager {
  constructor(private readonly log: string) {}
  async isRunning(): Promise<boolean> {
    return true;
  }
  async start(): Promise<void> {
    appendFileSync(this.log, "- service start\n");
  }
  async reload(): Promise<void> {
    appendFileSync(this.log, "- service reload\n");
  }
  async stop(): Promise<void> {
    appendFileSync(this.log, "- service stop\n");
  }
}

const job = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as ApplyJob;
const service =
  job.actionLog !== undefined
    ? new LoggingService(job.actionLog)
    : new HaproxyProcess({ configFile: job.paths.haproxyConfig, pidFile: job.pidFile ?? "" });
const result = await applyPlan(job.plan, {
  paths: job.paths,
  haproxyBinary: "haproxy",
  service,
  fileOwner: "haproxy",
});
process.stdout.write(`${JSON.stringify(result)}\n`);
