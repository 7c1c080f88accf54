// The CLI's commands as an operator sees them (src/cli.ts runs a plain
// `hook <name>` without loading this). Only this file and src/cli.ts turn
// errors into exit codes.
import { readFile } from "node:fs/promises";

import { Command } from "commander";

import { SystemctlServiceManager } from "./apply/serviceManager.js";
import { ExecaHookTools } from "./juju/execaHookTools.js";
import { hookContextFromEnv } from "./hook/hookContext.js";
import { describeError } from "./lib/describeError.js";
import { runHookCommand } from "./hookCommand.js";
import { metricsSettingsFile } from "./metrics/metricsSettings.js";
import { productionPaths } from "./paths.js";

// Each command loads what it needs when it runs (dynamic imports, split into
// chunks by the bundle).

/** Runs the command `argv` names; `script` is the bundle's entry point, which cron runs. */
export async function runProgram(argv: readonly string[], script: string): Promise<void> {
  await buildProgram(script).parseAsync(argv);
}

function buildProgram(script: string): Command {
  const cli = new Command()
    .name("haproxy-charm")
    .description(
      "The HAProxy charm for Juju: turns config and relation data into a live haproxy.cfg.",
    )
    .showHelpAfterError();

  cli
    .command("hook")
    .description("Handle one Juju event (what dispatch and hooks/<name> run).")
    .argument("<name>", "the hook name, e.g. config-changed or reverseproxy-relation-changed")
    .action((name: string) => runHookCommand(name, script));

  cli
    .command("render")
    .description(
      "Print the haproxy.cfg that the current hook context (or a saved snapshot) produces. " +
        "Touches nothing: a dry run.",
    )
    .option("--from <snapshot.json>", "read config and relation data from a JSON snapshot file")
    .addHelpText(
      "after",
      `
A snapshot is JSON of this shape (every key optional):
  { "unitName": "haproxy/0", "config": { "services": "..." },
    "reverseproxy": [ { "relationId": "reverseproxy:1", "unit": "my-web-app/0",
                        "settings": { "private-address": "10.0.0.5", "port": "80" } } ] }`,
    )
    .action(async (options: { from?: string }) => {
      try {
        const { parseSnapshot } = await import("./plan/snapshot.js");
        const { planConfiguration } = await import("./plan/planConfiguration.js");
        const { parseCharmConfig } = await import("./config/charmConfig.js");
        const { renderHaproxyConfig } = await import("./render/renderHaproxyConfig.js");
        const inputs = options.from
          ? parseSnapshot(await readFile(options.from, "utf8"))
          : await readLiveInputs();
        // On a unit, what its next hook would write: the live servers keep their `{i}`.
        const live = options.from
          ? undefined
          : await readFile(productionPaths.haproxyConfig, "utf8").catch(() => undefined);
        const plan = planConfiguration(
          parseCharmConfig(inputs.config),
          inputs,
          productionPaths,
          live,
        );
        for (const skipped of plan.skippedUnits) {
          process.stderr.write(`note: unit ${skipped.unit} not served: ${skipped.reason}\n`);
        }
        process.stdout.write(renderHaproxyConfig(plan.config));
      } catch (error) {
        process.stderr.write(`render: ${describeError(error)}\n`);
        process.exitCode = 2;
      }
    });

  cli
    .command("action")
    .description("Run one operator action (what dispatch runs for actions/<name>).")
    .argument(
      "<name>",
      "show-config, backend-status, reload, show-password or get-proxied-endpoints",
    )
    .action(async (name: string) => {
      const tools = new ExecaHookTools();
      try {
        const { runAction } = await import("./actions/runAction.js");
        await runAction(
          {
            tools,
            paths: productionPaths,
            service: new SystemctlServiceManager(),
            haproxyBinary: "haproxy",
            print: (text) => process.stdout.write(text),
          },
          name,
        );
      } catch (error) {
        const message = describeError(error);
        process.stderr.write(`action ${name} failed: ${message}\n`);
        await tools.actionFail(`action ${name} failed: ${message}`).catch(() => undefined);
        process.exitCode = 1;
      }
    });

  cli
    .command("metrics")
    .description("statsd metrics: `metrics push` is what the schedule runs.")
    .command("push")
    .description(
      "Read haproxy's statistics from its admin socket and send one statsd gauge per " +
        "numeric field to metrics_target (as the charm's cron job does).",
    )
    .option(
      "--settings <file>",
      "the settings the charm wrote",
      metricsSettingsFile(productionPaths.charmState),
    )
    .action(async (options: { settings: string }) => {
      try {
        const { readMetricsSettings } = await import("./metrics/metricsSettings.js");
        const { pushMetrics } = await import("./metrics/pushMetrics.js");
        const settings = await readMetricsSettings(options.settings);
        if (settings === undefined) {
          process.stdout.write(`metrics are off (${options.settings} does not exist)\n`);
          return;
        }
        const result = await pushMetrics(settings);
        const { host, port } = settings.target;
        process.stdout.write(
          `sent ${result.gauges} gauges to ${host}:${port} (${result.address})\n`,
        );
      } catch (error) {
        process.stderr.write(`metrics push: ${describeError(error)}\n`);
        process.exitCode = 1;
      }
    });

  return cli;
}

async function readLiveInputs() {
  const { readInputs } = await import("./hook/readInputs.js");
  const { RelationData } = await import("./juju/relationData.js");
  const tools = new ExecaHookTools();
  return readInputs(tools, new RelationData(tools), hookContextFromEnv("render", process.env));
}
