// The haproxy service as the apply step drives it, remembering a start or
// reload that failed. haproxy refusing to run (its port taken, a file it
// cannot read) is something for the operator to fix: a blocked status that
// says why, not a hook error that Juju retries forever.
import type { ServiceManager } from "../apply/serviceManager.js";

export interface ServiceFailure {
  readonly action: "start" | "reload";
  readonly error: unknown;
}

export class WatchedService implements ServiceManager {
  /** The first start or reload that failed, if any. */
  failure: ServiceFailure | undefined;

  constructor(private readonly inner: ServiceManager) {}

  isRunning(): Promise<boolean> {
    return this.inner.isRunning();
  }

  start(): Promise<void> {
    return this.watch("start", () => this.inner.start());
  }

  reload(): Promise<void> {
    return this.watch("reload", () => this.inner.reload());
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  reloadOutput(): Promise<string> {
    return this.inner.reloadOutput();
  }

  private async watch(action: ServiceFailure["action"], run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.failure ??= { action, error };
      throw error;
    }
  }
}
