// HAPROXY_CHARM_PROFILE=1 (README, "Hook time"): the bundled charm, run as
// production wires it, writes where a hook's time goes to stderr, step by
// step; without the variable it writes none of it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { profilePrefix } from "../../src/lib/stepTimer.js";
import { findFreePort } from "../helpers/haproxyProcess.js";
import { type PrivateBundle, buildPrivateBundle } from "../helpers/privateBundle.js";
import { startProductionUnit } from "../helpers/productionUnit.js";

let bundle: PrivateBundle;
beforeAll(async () => {
  bundle = await buildPrivateBundle();
}, 60_000);
afterAll(() => bundle?.cleanup());

/** The steps of the profile lines in `stderr`, without their times. */
function profiledSteps(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith(profilePrefix))
    .map((line) => line.replace(/^.*? at [\d.]+ ms (took [\d.]+ ms )?/, ""));
}

describe("HAPROXY_CHARM_PROFILE", () => {
  it("times each step of a real hook on stderr, and is silent when unset", async () => {
    const port = await findFreePort();
    const unit = await startProductionUnit({ bundle, probePorts: [port] });
    try {
      unit.tools.config = {
        services: `- {service_name: web, service_host: 127.0.0.1, service_port: ${port}}`,
      };
      unit.tools.addUnit("reverseproxy:1", "web/0", { "private-address": "127.0.0.1", port: "80" });
      const quiet = await unit.dispatch("install");
      expect(quiet.exitCode).toBe(0);
      expect(quiet.stderr).not.toContain(profilePrefix);

      const profiled = await unit.dispatch("config-changed", { HAPROXY_CHARM_PROFILE: "1" });
      expect(profiled.exitCode).toBe(0);
      const steps = profiledSteps(profiled.stderr);
      // In the order they begin: start-up first, the hook's end and the exit last.
      expect(steps[0]).toBe("node started and the entry bundle loaded");
      expect(steps.slice(-2)).toEqual(["hook config-changed done", "exit"]);
      for (const step of [
        "load runHook",
        "read hook-tool cache",
        "load reconcile",
        "hook tool config-get",
        "read inputs",
        "plan",
        "render",
        "haproxy -c",
        "systemctl start",
        "apply",
        "publish",
        "hook tool status-set",
        "upkeep",
        "save hook-tool cache",
      ]) {
        expect(steps, step).toContain(step);
      }
      // Every hook-tool call the unit answered has its line.
      const toolLines = steps.filter((step) => step.startsWith("hook tool "));
      expect(toolLines.length).toBeGreaterThanOrEqual(3);

      const after = await unit.dispatch("update-status");
      expect(after.exitCode).toBe(0);
      expect(after.stderr).not.toContain(profilePrefix);
    } finally {
      await unit.cleanup();
    }
  }, 120_000);
});
