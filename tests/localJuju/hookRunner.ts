// Running the queued hooks, one at a time, like a unit agent: the charm's
// dispatch with Juju's environment and hook tools, a failed hook putting its
// unit in error, and what a successful hook changed committed and announced.

import type { Agent } from "./agent.js";
import type { Deployment } from "./deployment.js";
import { charmDir } from "./deployment.js";
import type { HookChanges, ModelView } from "./hookContext.js";
import { HookContext } from "./hookContext.js";
import { hookName } from "./hookQueue.js";
import { basePath } from "./machine.js";
import type { ModelState } from "./modelState.js";
import { jujuVersion } from "./modelState.js";
import type { RelationLifecycle } from "./relationLifecycle.js";
import { membersOf, sameSettings } from "./relationLifecycle.js";
import type { ActionResult, HookEvent, Relation, Unit } from "./state.js";
import { localSide, relationKey, remoteSide } from "./state.js";

/** What hooks run with: the model as hook tools see it, its agent, tools and time limit. */
export interface HookSetting {
  readonly view: ModelView;
  readonly agent: Agent;
  /** The directory of the hook tools' clients, first on the hooks' PATH. */
  readonly toolsDir: string;
  /** A hook running longer than this is killed and counts as failed. */
  readonly hookTimeoutMs: number;
}

/** Like the unit agent: dispatch if the charm has one, else the hook file, else nothing. */
const runDispatch = [
  "if [ -x ./dispatch ]; then exec ./dispatch; fi",
  'if [ -x "./$1" ]; then exec "./$1"; fi',
  "exit 0",
].join("\n");

export class HookRunner {
  readonly actionResults = new Map<string, ActionResult>();
  private nextContextId = 0;
  private draining: Promise<void> = Promise.resolve();

  constructor(
    private readonly state: ModelState,
    private readonly relations: RelationLifecycle,
    private readonly deployment: Deployment,
    private readonly setting: HookSetting,
  ) {}

  /** Runs queued hooks until none is left, or only units in error have some. */
  settle(): Promise<void> {
    // Operations started without awaiting the previous one still run one hook at a time.
    const drained = this.draining.then(() => this.drain());
    this.draining = drained.catch(() => undefined);
    return drained;
  }

  /** `juju resolve`: the failed hook queued again (retry) or taken as done. */
  resolve(unit: Unit, retry: boolean): void {
    const failed = unit.failedHook;
    if (unit.agent !== "error" || failed === undefined)
      throw new Error(`${unit.name} is not in error`);
    unit.agent = "idle";
    unit.failedHook = undefined;
    if (retry) this.state.queue.retry(failed);
    else this.afterHook(unit, failed);
  }

  private async drain(): Promise<void> {
    for (;;) {
      const event = this.state.queue.next(
        (unitName) => this.state.units.get(unitName)?.agent !== "error",
      );
      if (event === undefined) return;
      await this.runHook(event);
    }
  }

  private async runHook(event: HookEvent): Promise<void> {
    const unit = this.state.requireUnit(event.unit);
    const relation =
      event.relationId === undefined ? undefined : this.state.relations.get(event.relationId);
    if (event.relationId !== undefined && relation === undefined) return;
    this.beforeHook(unit, event);
    const endpoint =
      relation === undefined ? undefined : localSide(relation, unit.app.name).endpoint.name;
    const name = hookName(event, endpoint);
    this.nextContextId += 1;
    const context = new HookContext(
      `${unit.name}-${name}-${this.nextContextId}`,
      this.setting.view,
      unit,
      event,
    );
    const dispatchPath = event.kind === "action" ? `actions/${name}` : `hooks/${name}`;
    const env = this.hookEnvironment(unit, event, context.id, dispatchPath, relation);
    if (event.kind === "install" && unit.workload.status === "waiting") {
      unit.workload = { status: "maintenance", message: "installing charm software" };
    }
    unit.agent = "executing";
    this.setting.agent.register(context);
    const started = Date.now();
    const timeoutMs = this.setting.hookTimeoutMs;
    const result = await unit.machine.exec(
      ["/bin/sh", "-c", runDispatch, dispatchPath, dispatchPath],
      { env, cwd: charmDir(unit), timeoutMs },
    );
    this.setting.agent.unregister(context);
    const output = `${result.stdout}${result.stderr}${result.timedOut ? `\nkilled after ${timeoutMs} ms\n` : ""}`;
    unit.hookRuns.push({
      hook: name,
      exitCode: result.exitCode,
      output,
      durationMs: Date.now() - started,
    });
    if (event.kind === "action") {
      this.finishAction(event, context, result.exitCode, output);
      unit.agent = "idle";
      return;
    }
    if (result.exitCode !== 0) {
      unit.agent = "error";
      unit.failedHook = event;
      unit.failedHookName = name;
      unit.log.push({
        level: "ERROR",
        message: `hook "${name}" failed: exit status ${result.exitCode}`,
      });
      return;
    }
    this.commit(unit, context.changes());
    unit.agent = "idle";
    this.afterHook(unit, event);
  }

  /** What a unit's view of its relations looks like once Juju decides to run the hook. */
  private beforeHook(unit: Unit, event: HookEvent): void {
    const id = event.relationId;
    if (id === undefined) return;
    if (event.kind === "relation-created") unit.knownRelations.add(id);
    if (event.kind === "relation-joined" && event.remoteUnit)
      membersOf(unit, id).add(event.remoteUnit);
    if (event.kind === "relation-departed" && event.remoteUnit)
      membersOf(unit, id).delete(event.remoteUnit);
  }

  private afterHook(unit: Unit, event: HookEvent): void {
    if (event.kind === "start" && unit.workload.message === "installing charm software") {
      unit.workload = { status: "unknown", message: "" };
    }
    if (event.kind === "relation-broken" && event.relationId !== undefined) {
      unit.knownRelations.delete(event.relationId);
      unit.members.delete(event.relationId);
      const relation = this.state.relations.get(event.relationId);
      if (relation !== undefined) this.relations.forgetIfDone(relation);
    }
    if (event.kind === "remove") this.deployment.finishRemoval(unit);
  }

  private finishAction(
    event: HookEvent,
    context: HookContext,
    exitCode: number,
    output: string,
  ): void {
    const id = event.action?.id ?? "";
    const failure = exitCode !== 0 ? `exit status ${exitCode}` : context.actionFailure;
    this.actionResults.set(id, {
      status: failure === undefined ? "completed" : "failed",
      message: failure ?? "",
      results: context.actionResults,
      output,
    });
  }

  private commit(unit: Unit, changes: HookChanges): void {
    for (const [id, settings] of changes.unitSettings) {
      const relation = this.state.relations.get(id);
      if (relation !== undefined) this.relations.commitUnitSettings(unit, relation, settings);
    }
    for (const [id, settings] of changes.appSettings) {
      const relation = this.state.relations.get(id);
      if (relation !== undefined) this.relations.commitAppSettings(unit.app, relation, settings);
    }
    if (changes.status) unit.workload = changes.status;
    if (changes.appStatus) unit.app.appStatus = changes.appStatus;
    if (changes.version !== undefined) unit.app.version = changes.version;
    if (changes.openedPorts) {
      unit.openedPorts.clear();
      for (const port of changes.openedPorts) unit.openedPorts.add(port);
    }
    if (changes.leaderSettings && !sameSettings(changes.leaderSettings, unit.app.leaderSettings)) {
      unit.app.leaderSettings.clear();
      for (const [key, value] of changes.leaderSettings) unit.app.leaderSettings.set(key, value);
      for (const other of this.state.liveUnits(unit.app)) {
        if (other !== unit) this.state.queueFor(other, { kind: "leader-settings-changed" });
      }
    }
  }

  private hookEnvironment(
    unit: Unit,
    event: HookEvent,
    contextId: string,
    dispatchPath: string,
    relation: Relation | undefined,
  ): Record<string, string> {
    const dir = charmDir(unit);
    const env: Record<string, string> = {
      PATH: `${this.setting.toolsDir}:${basePath}`,
      HOME: "/root",
      LANG: "C.UTF-8",
      JUJU_UNIT_NAME: unit.name,
      JUJU_CHARM_DIR: dir,
      CHARM_DIR: dir,
      JUJU_DISPATCH_PATH: dispatchPath,
      JUJU_MODEL_NAME: this.setting.view.name,
      JUJU_MODEL_UUID: this.setting.view.uuid,
      JUJU_VERSION: jujuVersion,
      JUJU_CONTEXT_ID: contextId,
      JUJU_AGENT_SOCKET_ADDRESS: this.setting.agent.socket,
      JUJU_AGENT_SOCKET_NETWORK: "unix",
      JUJU_MACHINE_ID: String(unit.machine.id),
      // A benchmark may ask the charm where its hooks' time goes (README, "Hook time").
      ...(process.env.HAPROXY_CHARM_PROFILE !== undefined && {
        HAPROXY_CHARM_PROFILE: process.env.HAPROXY_CHARM_PROFILE,
      }),
    };
    if (event.action !== undefined) {
      env.JUJU_ACTION_NAME = event.action.name;
      env.JUJU_ACTION_UUID = event.action.id;
    } else {
      env.JUJU_HOOK_NAME = dispatchPath.slice("hooks/".length);
    }
    if (relation !== undefined) {
      env.JUJU_RELATION = localSide(relation, unit.app.name).endpoint.name;
      env.JUJU_RELATION_ID = relationKey(relation, unit.app.name);
      env.JUJU_REMOTE_APP = event.remoteApp ?? remoteSide(relation, unit.app.name).app;
      if (event.remoteUnit !== undefined) env.JUJU_REMOTE_UNIT = event.remoteUnit;
      if (event.departingUnit !== undefined) env.JUJU_DEPARTING_UNIT = event.departingUnit;
    }
    return env;
  }
}
