// Every hook tool the local model puts on a hook's PATH. A tool not listed
// here is simply not there, so a charm calling it fails with "not found".

import { actionFail, actionGet, actionLog, actionSet } from "./actionTools.js";
import type { HookTool } from "./hookTool.js";
import { leaderGet, leaderSet } from "./leaderTools.js";
import { closePort, openPort, openedPorts } from "./portTools.js";
import { relationGet, relationIds, relationList, relationSet } from "./relationTools.js";
import { jujuLog, statusGet, statusSet } from "./statusTools.js";
import { applicationVersionSet, configGet, isLeader, networkGet, unitGet } from "./unitTools.js";

export const hookTools: ReadonlyMap<string, HookTool> = new Map([
  ["config-get", configGet],
  ["relation-ids", relationIds],
  ["relation-list", relationList],
  ["relation-get", relationGet],
  ["relation-set", relationSet],
  ["unit-get", unitGet],
  ["network-get", networkGet],
  ["open-port", openPort],
  ["close-port", closePort],
  ["opened-ports", openedPorts],
  ["status-set", statusSet],
  ["status-get", statusGet],
  ["juju-log", jujuLog],
  ["is-leader", isLeader],
  ["leader-get", leaderGet],
  ["leader-set", leaderSet],
  ["action-get", actionGet],
  ["action-set", actionSet],
  ["action-fail", actionFail],
  ["action-log", actionLog],
  ["application-version-set", applicationVersionSet],
]);

/** Tools whose client must send `--file` content (stdin for `-`). */
export const toolsReadingFiles: ReadonlySet<string> = new Set(["relation-set"]);
