// A haproxy that is always "running" and only notes what it is asked to do:
// for tests where the apply step's own checks are under test, not haproxy's.
import type { ServiceManager } from "../../src/apply/serviceManager.js";

export class RecordingService implements ServiceManager {
  actions: string[] = [];
  async isRunning(): Promise<boolean> {
    return true;
  }
  async start(): Promise<void> {
    this.actions.push("start");
  }
  async reload(): Promise<void> {
    this.actions.push("reload");
  }
  async stop(): Promise<void> {
    this.actions.push("stop");
  }
  /** What a haproxy that loaded its file prints after a reload. */
  async reloadOutput(): Promise<string> {
    return "[NOTICE]   (1) : Loading success.\n";
  }
}
