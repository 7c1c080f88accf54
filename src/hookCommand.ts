// `hook <name>`: one Juju event, wired to the unit's real hook tools, systemd
// and paths. Its failure is the hook's: logged, and exit code 1.
import { SystemctlServiceManager } from "./apply/serviceManager.js";
import { ExecaHookTools } from "./juju/execaHookTools.js";
import { hookContextFromEnv } from "./hook/hookContext.js";
import { describeError } from "./lib/describeError.js";
import { markStep, timeStep } from "./lib/stepTimer.js";
import { productionPaths } from "./paths.js";
import { execaHostCommands } from "./system/hostCommands.js";

/** `script`: the bundle's entry point, which cron runs for `metrics push`. */
export async function runHookCommand(name: string, script: string): Promise<void> {
  const tools = new ExecaHookTools();
  const deps = {
    tools,
    paths: productionPaths,
    service: new SystemctlServiceManager(),
    haproxyBinary: "haproxy",
    // haproxy's master reads keys and certificates as root, before it drops privileges.
    fileOwner: "root",
    host: execaHostCommands,
    // cron runs `metrics push` with this very node and bundle.
    cli: { node: process.execPath, script },
  };
  try {
    const { runHook } = await timeStep("load runHook", () => import("./hook/runHook.js"));
    await runHook(deps, hookContextFromEnv(name, process.env));
    markStep(`hook ${name} done`);
  } catch (error) {
    const message = describeError(error);
    process.stderr.write(`hook ${name} failed: ${message}\n`);
    await tools.log("ERROR", `hook ${name} failed: ${message}`).catch(() => undefined);
    process.exitCode = 1;
  }
}
