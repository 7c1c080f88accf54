// The operator actions of actions.yaml, run as `juju run haproxy/0 <action>`.
// Results go through action-set; anything secret or large goes to stdout,
// which Juju keeps with the action's results, because action-set takes its
// values as command-line arguments.
import { readFile } from "node:fs/promises";

import type { ServiceManager } from "../apply/serviceManager.js";
import { askOver } from "../apply/applyPlan.js";
import { reloadConfirmed } from "../apply/confirmedReload.js";
import { firstHaproxyError, validateHaproxyConfig } from "../apply/haproxyCheck.js";
import { parseCharmConfig } from "../config/charmConfig.js";
import { describeError } from "../lib/describeError.js";
import { NotLoadedError, ValidationError } from "../lib/errors.js";
import type { HookTools } from "../juju/hookTools.js";
import { parseShowStat } from "../metrics/statsCsv.js";
import { askAdminSocket } from "../metrics/statsSocket.js";
import { adminSocketPath } from "../model/runtimeFiles.js";
import { effectivePassword } from "../hook/upkeep.js";
import type { Paths } from "../paths.js";
import { backendStates, backendStatesYaml, countServers } from "./backendStatus.js";
import { redactPasswords } from "./redactConfig.js";
import { readIfExists } from "../lib/atomicFile.js";
import { stateFilePath } from "../stateFiles.js";

export interface ActionDeps {
  readonly tools: HookTools;
  readonly paths: Paths;
  readonly service: ServiceManager;
  readonly haproxyBinary: string;
  /** Where printed output goes (the process's stdout in production). */
  readonly print: (text: string) => void;
}

export const ACTIONS = [
  "show-config",
  "backend-status",
  "reload",
  "show-password",
  "get-proxied-endpoints",
] as const;

type ActionName = (typeof ACTIONS)[number];

// action-set values are arguments: above this, print instead.
const MAX_RESULT_LENGTH = 32 * 1024;

export async function runAction(deps: ActionDeps, name: string): Promise<void> {
  if (!(ACTIONS as readonly string[]).includes(name)) {
    await deps.tools.actionFail(`unknown action ${name}; this charm has ${ACTIONS.join(", ")}`);
    return;
  }
  try {
    await ACTION_HANDLERS[name as ActionName](deps);
  } catch (error) {
    if (error instanceof ActionFailure) {
      await deps.tools.actionFail(error.message);
      return;
    }
    throw error;
  }
}

class ActionFailure extends Error {}

const ACTION_HANDLERS: Record<ActionName, (deps: ActionDeps) => Promise<void>> = {
  "show-config": showConfig,
  "backend-status": backendStatus,
  reload,
  "show-password": showPassword,
  "get-proxied-endpoints": getProxiedEndpoints,
};

async function showConfig(deps: ActionDeps): Promise<void> {
  const file = deps.paths.haproxyConfig;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ActionFailure(`${file} does not exist yet: the charm has not configured haproxy`);
  }
  const shown = redactPasswords(text);
  deps.print(shown);
  await deps.tools.actionSet({
    path: file,
    lines: String(shown.split("\n").length - (shown.endsWith("\n") ? 1 : 0)),
  });
}

async function backendStatus(deps: ActionDeps): Promise<void> {
  let csv: string;
  try {
    csv = await askAdminSocket(adminSocketPath(deps.paths.haproxyRun), "show stat");
  } catch (error) {
    throw new ActionFailure(describeError(error));
  }
  const backends = backendStates(parseShowStat(csv));
  const yaml = backendStatesYaml(backends);
  const counts = countServers(backends);
  deps.print(yaml);
  await deps.tools.actionSet({
    "servers-up": String(counts.up),
    "servers-down": String(counts.down),
    "servers-other": String(counts.other),
    backends:
      yaml.length <= MAX_RESULT_LENGTH ? yaml : "too long for a result: see the action's stdout",
  });
}

async function reload(deps: ActionDeps): Promise<void> {
  try {
    await validateHaproxyConfig(deps.haproxyBinary, deps.paths.haproxyConfig);
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new ActionFailure(`not reloaded: ${error.message}`);
    }
    throw error;
  }
  const running = await deps.service.isRunning();
  try {
    if (running) {
      await reloadConfirmed(deps.service, askOver(adminSocketPath(deps.paths.haproxyRun)));
    } else await deps.service.start();
  } catch (error) {
    if (error instanceof NotLoadedError) {
      throw new ActionFailure(`not reloaded: ${firstHaproxyError(error.message)}`);
    }
    throw error;
  }
  await deps.tools.actionSet({ result: running ? "reloaded" : "started" });
}

async function showPassword(deps: ActionDeps): Promise<void> {
  const config = parseCharmConfig(await deps.tools.configGet());
  const password = await effectivePassword(config, deps.paths);
  if (password === undefined) {
    throw new ActionFailure("enable_monitoring is false: there is no statistics page");
  }
  // stdout, not action-set: a password must not appear in a process's arguments.
  deps.print(`${password}\n`);
  await deps.tools.actionSet({
    username: config.monitoring_username,
    port: String(config.monitoring_port),
    password: "printed on stdout (juju run shows it; --format=json has it under stdout)",
  });
}

/**
 * The URLs haproxy-route applications are served at, as the last hook
 * planned them: every backend's, or the one `backend` names ([] when none
 * has that name, as in Canonical's charm).
 */
async function getProxiedEndpoints(deps: ActionDeps): Promise<void> {
  const { backend } = await deps.tools.actionGet();
  if (backend !== undefined && typeof backend !== "string") {
    throw new ActionFailure("backend must be a string");
  }
  const saved = await readIfExists(stateFilePath(deps.paths.charmState, "proxiedEndpoints"));
  const byBackend = saved === undefined ? {} : (JSON.parse(saved) as Record<string, string[]>);
  const endpoints = Object.entries(byBackend)
    .filter(([name]) => backend === undefined || backend === "" || name === backend)
    .flatMap(([, urls]) => urls);
  await deps.tools.actionSet({ endpoints: JSON.stringify(endpoints) });
}
