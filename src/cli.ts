// The charm's single executable. Juju runs `hook <name>` through dispatch;
// operators run `render` for a dry run (src/cliProgram.ts has every command).
import { fileURLToPath } from "node:url";

import { runHookCommand } from "./hookCommand.js";
import { markStep, setProfileSink } from "./lib/stepTimer.js";

// HAPROXY_CHARM_PROFILE=1: where the time goes, on stderr (README, "Hook time").
if (process.env.HAPROXY_CHARM_PROFILE === "1") {
  setProfileSink((line) => process.stderr.write(`${line}\n`));
  process.once("exit", () => markStep("exit"));
}
markStep("node started and the entry bundle loaded");

// This file, the bundle's entry point: cron runs it for `metrics push`.
const script = fileURLToPath(import.meta.url);
const [command, name, ...rest] = process.argv.slice(2);
// What Juju runs for every event goes straight to the hook: loading the
// command-line parser would cost every hook about 20 ms of CPU.
if (command === "hook" && name !== undefined && !name.startsWith("-") && rest.length === 0) {
  await runHookCommand(name, script);
} else {
  const { runProgram } = await import("./cliProgram.js");
  await runProgram(process.argv, script);
}
