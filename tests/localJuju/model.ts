// The local Juju model: deploys a packed charm onto machines of its own
// (network, mount and UTS namespaces), runs the charm's dispatch with Juju's
// environment and hook tools in Juju's event order, and plays scripted
// remote applications whose relation data and web servers the test sets.
//
//   const model = await LocalModel.create();
//   await model.deploy("haproxy.charm");
//   await model.deployScripted("my-web-app", { units: 2, endpoints: { website: ... } });
//   await model.integrate("my-web-app:website", "haproxy:reverseproxy");
//   await model.http(`http://${model.unit("haproxy/0").machine.address}/`);
//   model.destroy();
//
// Every operation queues the hooks Juju would run and then runs them until
// the model is idle (or only units in error are left), like `juju wait-for`.

import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { Agent, writeClientScript } from "./agent.js";
import { backendServerSource } from "./backendServer.js";
import { readCharmMeta } from "./charmMeta.js";
import { resourcePrefix, sweepAbandonedModels, track, untrack } from "./cleanup.js";
import { effectiveConfig, optionValue } from "./configValues.js";
import type { HookChanges, ModelView } from "./hookContext.js";
import { HookContext } from "./hookContext.js";
import { HookQueue, hookName } from "./hookQueue.js";
import type { QueuedEvent } from "./hookQueue.js";
import { HaproxyService } from "./haproxyService.js";
import { KeepalivedService } from "./keepalivedService.js";
import type { HttpOptions, HttpResponse } from "./httpClient.js";
import { httpRequest } from "./httpClient.js";
import type { ExecResult } from "./machine.js";
import { Machine, basePath } from "./machine.js";
import { Network } from "./network.js";
import type {
  ActionResult,
  Application,
  CharmMeta,
  EndpointSpec,
  HookEvent,
  Relation,
  RelationInfo,
  ScriptedSpec,
  Settings,
  Unit,
  UnitInfo,
  WorkloadStatus,
} from "./state.js";
import { isPeer, localSide, relationKey, remoteSide } from "./state.js";
import type { ModelStatus } from "./statusTable.js";
import { applicationStatusOf, formatStatus } from "./statusTable.js";
import type { MachineSystem } from "./systemShims.js";
import { hookTools, toolsReadingFiles } from "./tools/registry.js";

export const jujuVersion = "3.6.4";

export interface ModelOptions {
  /** What JUJU_MODEL_NAME says. */
  readonly name?: string;
  /** The first three octets of the model's private /24. */
  readonly subnetBase?: string;
  /** A hook running longer than this is killed and counts as failed. */
  readonly hookTimeoutMs?: number;
  /**
   * The haproxy charm units' machines have installed as /usr/sbin/haproxy, where
   * Debian's package puts it: haproxy.service runs it and it is the `haproxy` on
   * the hooks' PATH. A command name or a path; absent, the host's own.
   */
  readonly haproxyBinary?: string;
}

export interface DeployOptions {
  readonly name?: string;
  readonly units?: number;
  readonly config?: Readonly<Record<string, unknown>>;
}

export interface ScriptedEndpoint {
  readonly interface: string;
  readonly role: "provides" | "requires";
}

export interface ScriptedOptions {
  readonly units?: number;
  readonly endpoints: Readonly<Record<string, ScriptedEndpoint>>;
  /** What each unit publishes when it enters a relation, as its joined hook would. */
  readonly unitSettings?: ScriptedSpec["unitSettings"];
  /** Every unit runs a web server on this port from the moment it exists. */
  readonly httpPort?: number;
}

export interface BackendServer {
  readonly unit: string;
  readonly port: number;
  stop(): void;
}

const shimTargets: ReadonlyMap<string, string> = new Map([
  ["systemctl", "/usr/bin/systemctl"],
  ["service", "/usr/sbin/service"],
  ["apt-get", "/usr/bin/apt-get"],
  ["apt", "/usr/bin/apt"],
  ["dpkg", "/usr/bin/dpkg"],
  ["sysctl", "/usr/sbin/sysctl"],
  ["journalctl", "/usr/bin/journalctl"],
]);

let modelCounter = 0;

export class LocalModel implements ModelView {
  readonly uuid = randomUUID();
  private readonly applications = new Map<string, Application>();
  private readonly relations = new Map<number, Relation>();
  private readonly units = new Map<string, Unit>();
  private readonly systems = new Map<string, MachineSystem>();
  private readonly queue = new HookQueue();
  private readonly actionResults = new Map<string, ActionResult>();
  private nextRelationId = 0;
  private nextMachineId = 0;
  private nextContextId = 0;
  private destroyed = false;
  private draining: Promise<void> = Promise.resolve();

  private constructor(
    readonly name: string,
    /** Prefix of every namespace this model owns. */
    readonly prefix: string,
    /** Everything the model writes on the host lives under this directory. */
    readonly dir: string,
    private readonly network: Network,
    private readonly agent: Agent,
    private readonly hookTimeoutMs: number,
    /** What replaces the host's /usr/sbin/haproxy on charm units' machines, if anything. */
    private readonly haproxyBinary: string | undefined,
  ) {}

  static async create(options: ModelOptions = {}): Promise<LocalModel> {
    if (process.getuid?.() !== 0) {
      throw new Error("the local model needs root: it creates network and mount namespaces");
    }
    const haproxyBinary = replacementHaproxy(options.haproxyBinary);
    sweepAbandonedModels();
    modelCounter += 1;
    const prefix = `${resourcePrefix}-${process.pid}-${modelCounter}`;
    const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    const cleanupOnFailure: (() => void)[] = [() => rmSync(dir, { recursive: true, force: true })];
    try {
      const network = await Network.create(prefix, options.subnetBase ?? "10.86.0");
      cleanupOnFailure.unshift(() => network.destroySync());
      const agent = await Agent.start(join(dir, "agent.sock"));
      const model = new LocalModel(
        options.name ?? "local",
        prefix,
        dir,
        network,
        agent,
        options.hookTimeoutMs ?? 120_000,
        haproxyBinary,
      );
      model.writeTools();
      track(model);
      return model;
    } catch (error) {
      for (const cleanup of cleanupOnFailure) cleanup();
      throw error;
    }
  }

  get subnet(): string {
    return this.network.subnet;
  }

  private get toolsDir(): string {
    return join(this.dir, "tools");
  }

  private writeTools(): void {
    mkdirSync(this.toolsDir, { recursive: true });
    for (const tool of hookTools.keys()) {
      writeClientScript(join(this.toolsDir, tool), {
        tool,
        socket: this.agent.socket,
        input: toolsReadingFiles.has(tool) ? "file-flag" : "none",
      });
    }
    mkdirSync(join(this.dir, "bin"), { recursive: true });
    writeFileSync(join(this.dir, "bin", "backend-server.mjs"), backendServerSource);
  }

  // ---------------------------------------------------------------- operations

  /** `juju deploy ./haproxy.charm [name] -n N --config ...` */
  async deploy(charmFile: string, options: DeployOptions = {}): Promise<Application> {
    const meta = readCharmMeta(charmFile);
    const name = options.name ?? meta.name;
    if (this.applications.has(name)) throw new Error(`application ${name} already exists`);
    const copy = join(this.dir, `${name}-${basename(charmFile)}`);
    copyFileSync(charmFile, copy);
    const app = this.addApplication(name, meta, { charmFile: copy });
    for (const [key, value] of Object.entries(options.config ?? {})) {
      app.config.set(key, optionValue(key, meta.options.get(key), value));
    }
    for (const endpoint of meta.endpoints.filter((candidate) => candidate.role === "peers")) {
      this.createRelation([
        { app: name, endpoint },
        { app: name, endpoint },
      ]);
    }
    for (let count = 0; count < (options.units ?? 1); count += 1) await this.addUnitTo(app);
    await this.settle();
    return app;
  }

  /** A remote application the test plays: endpoints, units and relation data, no hooks. */
  async deployScripted(name: string, options: ScriptedOptions): Promise<Application> {
    if (this.applications.has(name)) throw new Error(`application ${name} already exists`);
    const endpoints: EndpointSpec[] = Object.entries(options.endpoints).map(([endpoint, spec]) => ({
      name: endpoint,
      interface: spec.interface,
      role: spec.role,
      scope: "global",
    }));
    const meta: CharmMeta = {
      name,
      endpoints,
      extraBindings: [],
      options: new Map(),
      actions: new Map(),
    };
    const scripted: ScriptedSpec = {
      ...(options.unitSettings && { unitSettings: options.unitSettings }),
      ...(options.httpPort !== undefined && { httpPort: options.httpPort }),
    };
    const app = this.addApplication(name, meta, { scripted });
    for (let count = 0; count < (options.units ?? 1); count += 1) await this.addUnitTo(app);
    await this.settle();
    return app;
  }

  /** `juju add-unit <app> -n N` */
  async addUnit(appName: string, count = 1): Promise<Unit[]> {
    const app = this.requireApplication(appName);
    const added: Unit[] = [];
    for (let index = 0; index < count; index += 1) added.push(await this.addUnitTo(app));
    await this.settle();
    return added;
  }

  /** `juju remove-unit <unit>`: departed on both sides, then broken, stop and remove. */
  async removeUnit(unitName: string): Promise<void> {
    const unit = this.requireUnit(unitName);
    if (unit.dying) throw new Error(`${unitName} is already being removed`);
    unit.dying = true;
    for (const relation of this.relationsOfApp(unit.app.name)) {
      for (const other of this.unitsInScope(relation)) {
        if (other === unit || !other.members.get(relation.id)?.has(unit.name)) continue;
        this.queueFor(other, {
          kind: "relation-departed",
          relationId: relation.id,
          remoteUnit: unit.name,
          remoteApp: unit.app.name,
          departingUnit: unit.name,
        });
      }
      if (unit.app.scripted) continue;
      for (const member of unit.members.get(relation.id) ?? []) {
        this.queueFor(unit, {
          kind: "relation-departed",
          relationId: relation.id,
          remoteUnit: member,
          remoteApp: remoteSide(relation, unit.app.name).app,
          departingUnit: unit.name,
        });
      }
      this.queueFor(unit, {
        kind: "relation-broken",
        relationId: relation.id,
        remoteApp: remoteSide(relation, unit.app.name).app,
      });
    }
    if (unit.leader) this.electNewLeader(unit);
    if (unit.app.scripted) this.finishRemoval(unit);
    else {
      this.queueFor(unit, { kind: "stop" });
      this.queueFor(unit, { kind: "remove" });
    }
    await this.settle();
  }

  /** `juju config <app> key=value ...`; a null value resets the option to its default. */
  async config(appName: string, values: Readonly<Record<string, unknown>>): Promise<void> {
    const app = this.requireApplication(appName);
    const before = JSON.stringify(this.effectiveConfig(app));
    for (const [key, value] of Object.entries(values)) {
      if (value === null) {
        optionValue(key, app.meta.options.get(key), app.meta.options.get(key)?.default ?? "");
        app.config.delete(key);
      } else {
        app.config.set(key, optionValue(key, app.meta.options.get(key), value));
      }
    }
    if (JSON.stringify(this.effectiveConfig(app)) === before) return;
    for (const unit of this.liveUnits(app)) this.queueFor(unit, { kind: "config-changed" });
    await this.settle();
  }

  /** `juju integrate a[:endpoint] b[:endpoint]`; returns the relation id. */
  async integrate(first: string, second: string): Promise<number> {
    const [sideA, sideB] = this.matchEndpoints(first, second);
    const relation = this.createRelation([sideA, sideB]);
    await this.settle();
    return relation.id;
  }

  /** `juju remove-relation a b` (or by id). */
  async removeRelation(first: string | number, second?: string): Promise<void> {
    const relation =
      typeof first === "number"
        ? this.relations.get(first)
        : this.relationBetween(first, second ?? "");
    if (relation === undefined || relation.dying)
      throw new Error(`no such relation: ${first} ${second ?? ""}`);
    relation.dying = true;
    for (const unit of this.unitsInScope(relation)) {
      if (unit.app.scripted) {
        unit.members.delete(relation.id);
        unit.knownRelations.delete(relation.id);
        continue;
      }
      const remoteApp = remoteSide(relation, unit.app.name).app;
      for (const member of unit.members.get(relation.id) ?? []) {
        this.queueFor(unit, {
          kind: "relation-departed",
          relationId: relation.id,
          remoteUnit: member,
          remoteApp,
          departingUnit: member,
        });
      }
      this.queueFor(unit, { kind: "relation-broken", relationId: relation.id, remoteApp });
    }
    this.forgetRelationIfDone(relation);
    await this.settle();
  }

  /** `juju resolve <unit>`: retry the failed hook (or skip it with retry=false). */
  async resolve(unitName: string, options: { retry?: boolean } = {}): Promise<void> {
    const unit = this.requireUnit(unitName);
    const failed = unit.failedHook;
    if (unit.agent !== "error" || failed === undefined)
      throw new Error(`${unitName} is not in error`);
    unit.agent = "idle";
    unit.failedHook = undefined;
    if (options.retry ?? true) this.queue.retry(failed);
    else this.afterHook(unit, failed);
    await this.settle();
  }

  /** Runs one hook on a unit as Juju would on its own, e.g. `update-status`. */
  async trigger(
    unitName: string,
    kind: "update-status" | "upgrade-charm" | "config-changed",
  ): Promise<void> {
    this.queueFor(this.requireUnit(unitName), { kind });
    await this.settle();
  }

  /** `juju run <unit> <action> key=value ...` */
  async runAction(
    unitName: string,
    action: string,
    params: Readonly<Record<string, unknown>> = {},
  ): Promise<ActionResult> {
    const unit = this.requireUnit(unitName);
    const spec = unit.app.meta.actions.get(action);
    if (spec === undefined) throw new Error(`${unit.app.name} has no action ${action}`);
    const id = String(this.actionResults.size + 1);
    this.queueFor(unit, {
      kind: "action",
      action: { id, name: action, params: { ...spec.defaults, ...params } },
    });
    await this.settle();
    const result = this.actionResults.get(id);
    if (result === undefined) throw new Error(`action ${action} on ${unitName} did not run`);
    return result;
  }

  /** `juju refresh <app> --path new.charm`: new files, then upgrade-charm and config-changed. */
  async refresh(appName: string, charmFile: string): Promise<void> {
    const app = this.requireApplication(appName);
    if (app.charmFile === undefined) throw new Error(`${appName} is scripted`);
    copyFileSync(charmFile, app.charmFile);
    for (const unit of this.liveUnits(app)) {
      await this.unpackCharm(unit);
      this.queueFor(unit, { kind: "upgrade-charm" });
      this.queueFor(unit, { kind: "config-changed" });
    }
    await this.settle();
  }

  /**
   * Sets relation data of a scripted unit (`app/N`) or application (`app`),
   * as its hooks would: committed at once, and remote units get
   * relation-changed. An empty value deletes the key.
   */
  async setRelationData(
    unitOrApp: string,
    relationId: number,
    data: Readonly<Record<string, string>>,
  ): Promise<void> {
    const relation = this.relations.get(relationId);
    if (relation === undefined) throw new Error(`no relation ${relationId}`);
    const isUnit = unitOrApp.includes("/");
    const app = this.requireApplication(isUnit ? (unitOrApp.split("/")[0] ?? "") : unitOrApp);
    if (!app.scripted) throw new Error(`${app.name} runs a charm: its hooks set its relation data`);
    const current = isUnit
      ? (relation.unitSettings.get(unitOrApp) ?? new Map())
      : (relation.appSettings.get(app.name) ?? new Map());
    const updated = applySettings(current, data);
    if (isUnit) this.commitUnitSettings(this.requireUnit(unitOrApp), relation, updated);
    else this.commitAppSettings(app, relation, updated);
    await this.settle();
  }

  /** Runs queued hooks until none is left, or only units in error have some. */
  settle(): Promise<void> {
    // Operations started without awaiting the previous one still run one hook at a time.
    const drained = this.draining.then(() => this.drain());
    this.draining = drained.catch(() => undefined);
    return drained;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const event = this.queue.next((unitName) => this.units.get(unitName)?.agent !== "error");
      if (event === undefined) return;
      await this.runHook(event);
    }
  }

  // ---------------------------------------------------------------- inspection

  application(name: string): Application | undefined {
    return this.applications.get(name);
  }

  unit(name: string): Unit | undefined {
    return this.units.get(name);
  }

  requireUnit(name: string): Unit {
    const unit = this.units.get(name);
    if (unit === undefined) throw new Error(`no unit ${name}`);
    return unit;
  }

  relation(id: number): Relation | undefined {
    return this.relations.get(id);
  }

  /** The live relation between two `app[:endpoint]` names, if any. */
  relationBetween(first: string, second: string): Relation | undefined {
    const [appA, endpointA] = first.split(":");
    const [appB, endpointB] = second.split(":");
    return [...this.relations.values()].find((relation) => {
      if (relation.dying) return false;
      const [a, b] = relation.sides;
      const matches = (side: typeof a, app?: string, endpoint?: string): boolean =>
        side.app === app && (endpoint === undefined || side.endpoint.name === endpoint);
      return (
        (matches(a, appA, endpointA) && matches(b, appB, endpointB)) ||
        (matches(b, appA, endpointA) && matches(a, appB, endpointB))
      );
    });
  }

  effectiveConfig(app: Application): Record<string, unknown> {
    return effectiveConfig(app.meta.options, app.config);
  }

  /** The machine's systemd stand-in and the shims' record of commands. */
  system(unitName: string): MachineSystem {
    const system = this.systems.get(unitName);
    if (system === undefined) throw new Error(`no machine for ${unitName}`);
    return system;
  }

  /** Hook tool calls made so far, for tests that count them. */
  get toolCalls(): Agent["calls"] {
    return this.agent.calls;
  }

  /** Runs a command inside a unit's machine (its namespaces, its filesystem view). */
  exec(unitName: string, argv: readonly string[], input?: string): Promise<ExecResult> {
    return this.requireUnit(unitName).machine.exec(argv, input === undefined ? {} : { input });
  }

  readFile(unitName: string, path: string): Promise<string> {
    return this.requireUnit(unitName).machine.readFile(path);
  }

  /** An HTTP request from the model's network (the switch namespace), with curl. */
  http(url: string, options?: HttpOptions): Promise<HttpResponse> {
    return httpRequest(this.network.switchNamespace, url, options);
  }

  /** Starts a real node:http server in a unit's machine, answering with the unit's name (or `reply`). */
  async serveHttp(unitName: string, port: number, reply = unitName): Promise<BackendServer> {
    const unit = this.requireUnit(unitName);
    const child = unit.machine.spawn([
      process.execPath,
      join(this.dir, "bin", "backend-server.mjs"),
      reply,
      String(port),
      unit.machine.address,
    ]);
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes("listening\n")) resolve();
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.on("exit", (code) =>
        reject(new Error(`backend server on ${unitName}:${port} exited (${code}): ${output}`)),
      );
    });
    return { unit: unitName, port, stop: () => child.kill("SIGTERM") };
  }

  status(): ModelStatus {
    const applications = [...this.applications.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((app) => {
        const units = [...app.units].sort((a, b) => unitNumber(a.name) - unitNumber(b.name));
        const workloads = units.map((unit) => displayedWorkload(unit));
        const appStatus = app.appStatus ?? applicationStatusOf(workloads);
        return {
          name: app.name,
          charm: app.meta.name,
          version: app.version,
          status: appStatus.status,
          message: appStatus.message,
          units: units.map((unit, index) => ({
            name: unit.name,
            leader: unit.leader,
            workload: workloads[index]?.status ?? "unknown",
            message: workloads[index]?.message ?? "",
            agent: unit.agent,
            machine: unit.machine.id,
            address: unit.machine.address,
            ports: [...unit.openedPorts].sort(),
          })),
        };
      });
    const integrations = [...this.relations.values()]
      .filter((relation) => !relation.dying)
      .map((relation) => {
        const [a, b] = relation.sides;
        const provider = a.endpoint.role === "requires" ? b : a;
        const requirer = provider === a ? b : a;
        return {
          provider: `${provider.app}:${provider.endpoint.name}`,
          requirer: `${requirer.app}:${requirer.endpoint.name}`,
          interface: a.endpoint.interface,
          type: isPeer(relation) ? ("peer" as const) : ("regular" as const),
        };
      })
      .sort((x, y) => x.provider.localeCompare(y.provider));
    return { model: this.name, jujuVersion, applications, integrations };
  }

  formatStatus(): string {
    return formatStatus(this.status());
  }

  /** Stops every process and removes every namespace, mount and file of the model. */
  destroy(): void {
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    untrack(this);
    this.agent.close();
    for (const unit of this.units.values()) unit.machine.destroySync();
    this.network.destroySync();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------- internals

  private addApplication(
    name: string,
    meta: CharmMeta,
    source: { charmFile?: string; scripted?: ScriptedSpec },
  ): Application {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`invalid application name ${name}`);
    const app: Application = {
      name,
      meta,
      ...source,
      units: [],
      nextUnitNumber: 0,
      config: new Map(),
      leaderSettings: new Map(),
      version: "",
    };
    this.applications.set(name, app);
    return app;
  }

  private requireApplication(name: string): Application {
    const app = this.applications.get(name);
    if (app === undefined) throw new Error(`no application ${name}`);
    return app;
  }

  private liveUnits(app: Application): Unit[] {
    return app.units.filter((unit) => !unit.dying);
  }

  private relationsOfApp(appName: string): Relation[] {
    return [...this.relations.values()].filter(
      (relation) => !relation.dying && relation.sides.some((side) => side.app === appName),
    );
  }

  /** Units of both sides that are still in the relation's scope. */
  private unitsInScope(relation: Relation): Unit[] {
    const apps = new Set(relation.sides.map((side) => side.app));
    return [...apps].flatMap((app) => this.applications.get(app)?.units ?? []);
  }

  private async addUnitTo(app: Application): Promise<Unit> {
    const number = app.nextUnitNumber;
    app.nextUnitNumber += 1;
    const name = `${app.name}/${number}`;
    const machineId = this.nextMachineId;
    this.nextMachineId += 1;
    const machineDir = join(this.dir, "machines", String(machineId));
    const shimDir = join(machineDir, "shims");
    mkdirSync(shimDir, { recursive: true });
    const shims = new Map<string, string>();
    for (const [tool, target] of shimTargets) {
      const file = join(shimDir, tool);
      writeClientScript(file, {
        tool,
        socket: this.agent.socket,
        unit: name,
        input: tool === "dpkg" ? "set-selections" : "none",
      });
      shims.set(target, file);
    }
    if (this.haproxyBinary !== undefined && app.scripted === undefined) {
      // A script that runs it, not the binary itself: a wrapper such as
      // build/haproxy3/haproxy finds its libraries from its own path.
      const file = join(shimDir, "haproxy");
      writeFileSync(file, `#!/bin/sh\nexec ${shellQuote(this.haproxyBinary)} "$@"\n`, {
        mode: 0o755,
      });
      shims.set(installedHaproxy, file);
    }
    const machine = await Machine.create(this.network, {
      id: machineId,
      namespace: `${this.prefix}-m${machineId}`,
      hostname: `juju-${this.name}-${machineId}`,
      dir: machineDir,
      ownFilesystem: app.scripted === undefined,
      shims,
    });
    const unit: Unit = {
      name,
      app,
      machine,
      leader: this.liveUnits(app).length === 0,
      workload: { status: "waiting", message: "agent initialising" },
      agent: "allocating",
      openedPorts: new Set(),
      knownRelations: new Set(),
      members: new Map(),
      log: [],
      hookRuns: [],
      dying: false,
    };
    app.units.push(unit);
    this.units.set(name, unit);
    const system: MachineSystem = {
      machine,
      haproxy: new HaproxyService(machine),
      keepalived: new KeepalivedService(machine),
      commands: [],
      selections: [],
      kernelSettings: new Map(),
      enabled: true,
    };
    this.systems.set(name, system);
    this.agent.addMachineSystem(name, system);
    if (app.scripted) {
      unit.agent = "idle";
      unit.workload = { status: "active", message: "" };
      if (app.scripted.httpPort !== undefined) await this.serveHttp(name, app.scripted.httpPort);
    } else {
      await this.unpackCharm(unit);
      this.queueFor(unit, { kind: "install" });
    }
    const relations = this.relationsOfApp(app.name);
    for (const relation of relations) this.enterScope(unit, relation);
    if (!app.scripted) {
      for (const relation of relations) {
        this.queueFor(unit, {
          kind: "relation-created",
          relationId: relation.id,
          remoteApp: remoteSide(relation, app.name).app,
        });
      }
      this.queueFor(unit, { kind: unit.leader ? "leader-elected" : "leader-settings-changed" });
      this.queueFor(unit, { kind: "config-changed" });
      this.queueFor(unit, { kind: "start" });
    }
    for (const relation of relations) {
      for (const other of this.unitsInScope(relation)) {
        if (other === unit || other.dying) continue;
        if (other.app === app && !isPeer(relation)) continue;
        this.join(unit, other, relation);
        this.join(other, unit, relation);
      }
    }
    return unit;
  }

  /** Unzips the charm into the unit's charm directory, inside its machine. */
  private async unpackCharm(unit: Unit): Promise<void> {
    const charmFile = unit.app.charmFile;
    if (charmFile === undefined) return;
    const dir = charmDir(unit);
    const result = await unit.machine.exec([
      "/bin/sh",
      "-c",
      'rm -rf "$1" && mkdir -p "$1" && unzip -q -o "$2" -d "$1"',
      "unpack",
      dir,
      charmFile,
    ]);
    if (result.exitCode !== 0)
      throw new Error(`cannot unpack ${charmFile} on ${unit.name}: ${result.stderr}`);
  }

  /** Juju fills the addresses in a unit's settings when it enters a relation's scope. */
  private enterScope(unit: Unit, relation: Relation): void {
    const address = unit.machine.address;
    const settings = new Map([
      ["egress-subnets", `${address}/32`],
      ["ingress-address", address],
      ["private-address", address],
    ]);
    const scripted = unit.app.scripted?.unitSettings;
    if (scripted !== undefined) {
      const info: UnitInfo = { name: unit.name, address };
      const relationInfo: RelationInfo = {
        id: relation.id,
        endpoint: localSide(relation, unit.app.name).endpoint.name,
        remoteApp: remoteSide(relation, unit.app.name).app,
      };
      for (const [key, value] of Object.entries(scripted(info, relationInfo))) {
        if (value !== "") settings.set(key, value);
      }
    }
    relation.unitSettings.set(unit.name, settings);
    if (unit.app.scripted) unit.knownRelations.add(relation.id);
  }

  /** `unit` learns that `remote` joined: joined then changed, or at once for scripted units. */
  private join(unit: Unit, remote: Unit, relation: Relation): void {
    if (unit.app.scripted) {
      membersOf(unit, relation.id).add(remote.name);
      return;
    }
    const event = { relationId: relation.id, remoteUnit: remote.name, remoteApp: remote.app.name };
    this.queueFor(unit, { kind: "relation-joined", ...event });
    this.queueFor(unit, { kind: "relation-changed", ...event });
  }

  private createRelation(sides: Relation["sides"]): Relation {
    this.nextRelationId += 1;
    const relation: Relation = {
      id: this.nextRelationId,
      sides,
      unitSettings: new Map(),
      appSettings: new Map(),
      dying: false,
    };
    this.relations.set(relation.id, relation);
    const units = this.unitsInScope(relation).filter((unit) => !unit.dying);
    for (const unit of units) this.enterScope(unit, relation);
    for (const unit of units) {
      if (unit.app.scripted) continue;
      this.queueFor(unit, {
        kind: "relation-created",
        relationId: relation.id,
        remoteApp: remoteSide(relation, unit.app.name).app,
      });
    }
    const [a, b] = sides;
    for (const unit of units.filter((candidate) => candidate.app.name === a.app)) {
      for (const remote of units.filter((candidate) => candidate.app.name === b.app)) {
        if (remote === unit) continue;
        this.join(unit, remote, relation);
        if (!isPeer(relation)) this.join(remote, unit, relation);
      }
    }
    return relation;
  }

  private matchEndpoints(
    first: string,
    second: string,
  ): [Relation["sides"][0], Relation["sides"][1]] {
    const [appA = "", endpointA] = first.split(":");
    const [appB = "", endpointB] = second.split(":");
    const a = this.requireApplication(appA);
    const b = this.requireApplication(appB);
    const pairs: [EndpointSpec, EndpointSpec][] = [];
    for (const x of a.meta.endpoints) {
      for (const y of b.meta.endpoints) {
        if (endpointA !== undefined && x.name !== endpointA) continue;
        if (endpointB !== undefined && y.name !== endpointB) continue;
        const roles = new Set([x.role, y.role]);
        if (x.interface === y.interface && roles.has("provides") && roles.has("requires")) {
          pairs.push([x, y]);
        }
      }
    }
    const [pair, ...others] = pairs;
    if (pair === undefined)
      throw new Error(`no compatible endpoints between ${first} and ${second}`);
    if (others.length > 0)
      throw new Error(`ambiguous relation: ${first} ${second}; name the endpoints`);
    if (this.relationBetween(`${appA}:${pair[0].name}`, `${appB}:${pair[1].name}`) !== undefined) {
      throw new Error(`relation ${first} ${second} already exists`);
    }
    return [
      { app: appA, endpoint: pair[0] },
      { app: appB, endpoint: pair[1] },
    ];
  }

  private queueFor(unit: Unit, event: Omit<QueuedEvent, "unit">): void {
    if (unit.app.scripted) return;
    this.queue.push({ ...event, unit: unit.name });
  }

  private electNewLeader(leaving: Unit): void {
    leaving.leader = false;
    const next = this.liveUnits(leaving.app).sort(
      (a, b) => unitNumber(a.name) - unitNumber(b.name),
    )[0];
    if (next === undefined) return;
    next.leader = true;
    this.queueFor(next, { kind: "leader-elected" });
  }

  private async runHook(event: HookEvent): Promise<void> {
    const unit = this.requireUnit(event.unit);
    const relation =
      event.relationId === undefined ? undefined : this.relations.get(event.relationId);
    if (event.relationId !== undefined && relation === undefined) return;
    this.beforeHook(unit, event);
    const endpoint =
      relation === undefined ? undefined : localSide(relation, unit.app.name).endpoint.name;
    const name = hookName(event, endpoint);
    this.nextContextId += 1;
    const context = new HookContext(
      `${unit.name}-${name}-${this.nextContextId}`,
      this,
      unit,
      event,
    );
    const dispatchPath = event.kind === "action" ? `actions/${name}` : `hooks/${name}`;
    const env = this.hookEnvironment(unit, event, context.id, dispatchPath, relation);
    if (event.kind === "install" && unit.workload.status === "waiting") {
      unit.workload = { status: "maintenance", message: "installing charm software" };
    }
    unit.agent = "executing";
    this.agent.register(context);
    const started = Date.now();
    const result = await unit.machine.exec(
      ["/bin/sh", "-c", runDispatch, dispatchPath, dispatchPath],
      { env, cwd: charmDir(unit), timeoutMs: this.hookTimeoutMs },
    );
    this.agent.unregister(context);
    const output = `${result.stdout}${result.stderr}${result.timedOut ? `\nkilled after ${this.hookTimeoutMs} ms\n` : ""}`;
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
      const relation = this.relations.get(event.relationId);
      if (relation !== undefined) this.forgetRelationIfDone(relation);
    }
    if (event.kind === "remove") this.finishRemoval(unit);
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

  private forgetRelationIfDone(relation: Relation): void {
    if (!relation.dying) return;
    const stillKnown = [...this.units.values()].some((unit) =>
      unit.knownRelations.has(relation.id),
    );
    if (!stillKnown) this.relations.delete(relation.id);
  }

  private finishRemoval(unit: Unit): void {
    this.queue.dropUnit(unit.name);
    const app = unit.app;
    app.units.splice(app.units.indexOf(unit), 1);
    this.units.delete(unit.name);
    this.systems.delete(unit.name);
    for (const relation of this.relations.values()) {
      for (const other of this.units.values()) {
        if (other.app.scripted) other.members.get(relation.id)?.delete(unit.name);
      }
    }
    unit.machine.destroySync();
  }

  private commit(unit: Unit, changes: HookChanges): void {
    for (const [id, settings] of changes.unitSettings) {
      const relation = this.relations.get(id);
      if (relation !== undefined) this.commitUnitSettings(unit, relation, settings);
    }
    for (const [id, settings] of changes.appSettings) {
      const relation = this.relations.get(id);
      if (relation !== undefined) this.commitAppSettings(unit.app, relation, settings);
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
      for (const other of this.liveUnits(unit.app)) {
        if (other !== unit) this.queueFor(other, { kind: "leader-settings-changed" });
      }
    }
  }

  /** Stores a unit's settings; if they changed, every unit that sees it gets relation-changed. */
  private commitUnitSettings(unit: Unit, relation: Relation, settings: Settings): void {
    if (sameSettings(settings, relation.unitSettings.get(unit.name) ?? new Map())) return;
    relation.unitSettings.set(unit.name, new Map(settings));
    for (const other of this.unitsInScope(relation)) {
      if (other === unit || !other.members.get(relation.id)?.has(unit.name)) continue;
      const pending = this.queue.has(
        (event) =>
          event.unit === other.name &&
          event.kind === "relation-changed" &&
          event.relationId === relation.id &&
          event.remoteUnit === unit.name,
      );
      if (!pending) {
        this.queueFor(other, {
          kind: "relation-changed",
          relationId: relation.id,
          remoteUnit: unit.name,
          remoteApp: unit.app.name,
        });
      }
    }
  }

  private commitAppSettings(app: Application, relation: Relation, settings: Settings): void {
    if (sameSettings(settings, relation.appSettings.get(app.name) ?? new Map())) return;
    relation.appSettings.set(app.name, new Map(settings));
    const remoteApp = remoteSide(relation, app.name).app;
    for (const other of this.applications.get(remoteApp)?.units ?? []) {
      if (isPeer(relation) && other.app === app && other.leader) continue;
      if (!other.knownRelations.has(relation.id)) continue;
      this.queueFor(other, {
        kind: "relation-changed",
        relationId: relation.id,
        remoteApp: app.name,
      });
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
      PATH: `${this.toolsDir}:${basePath}`,
      HOME: "/root",
      LANG: "C.UTF-8",
      JUJU_UNIT_NAME: unit.name,
      JUJU_CHARM_DIR: dir,
      CHARM_DIR: dir,
      JUJU_DISPATCH_PATH: dispatchPath,
      JUJU_MODEL_NAME: this.name,
      JUJU_MODEL_UUID: this.uuid,
      JUJU_VERSION: jujuVersion,
      JUJU_CONTEXT_ID: contextId,
      JUJU_AGENT_SOCKET_ADDRESS: this.agent.socket,
      JUJU_AGENT_SOCKET_NETWORK: "unix",
      JUJU_MACHINE_ID: String(unit.machine.id),
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

/** Where Debian's haproxy package installs the binary its unit file runs. */
const installedHaproxy = "/usr/sbin/haproxy";

/** The haproxy to put in the host's haproxy's place, or undefined when that is the host's. */
function replacementHaproxy(binary: string | undefined): string | undefined {
  if (binary === undefined) return undefined;
  const path = binary.includes("/")
    ? resolve(binary)
    : execFileSync("/bin/sh", ["-c", 'command -v -- "$0"', binary], {
        encoding: "utf8",
        env: { PATH: basePath },
      }).trim();
  accessSync(path, constants.X_OK);
  // The replacement is mounted over the host's binary, so that must exist.
  if (!existsSync(installedHaproxy)) throw new Error(`${installedHaproxy} is not installed`);
  return realpathSync(path) === realpathSync(installedHaproxy) ? undefined : path;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Like the unit agent: dispatch if the charm has one, else the hook file, else nothing. */
const runDispatch = [
  "if [ -x ./dispatch ]; then exec ./dispatch; fi",
  'if [ -x "./$1" ]; then exec "./$1"; fi',
  "exit 0",
].join("\n");

function charmDir(unit: Unit): string {
  return `/var/lib/juju/agents/unit-${unit.name.replace("/", "-")}/charm`;
}

function membersOf(unit: Unit, relationId: number): Set<string> {
  let members = unit.members.get(relationId);
  if (members === undefined) {
    members = new Set();
    unit.members.set(relationId, members);
  }
  return members;
}

function unitNumber(name: string): number {
  return Number(name.split("/")[1] ?? 0);
}

function sameSettings(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([key, value]) => b.get(key) === value);
}

function applySettings(
  current: ReadonlyMap<string, string>,
  data: Readonly<Record<string, string>>,
): Settings {
  const updated = new Map(current);
  for (const [key, value] of Object.entries(data)) {
    if (value === "") updated.delete(key);
    else updated.set(key, value);
  }
  return updated;
}

/** What `juju status` shows for a unit: a failed hook overrides the charm's own status. */
function displayedWorkload(unit: Unit): WorkloadStatus {
  if (unit.agent === "error") {
    return { status: "error", message: `hook failed: "${unit.failedHookName ?? "unknown"}"` };
  }
  return unit.workload;
}
