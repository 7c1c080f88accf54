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
// LocalModel is the operations and the inspection; what it holds is in
// modelState.ts, units and machines in deployment.ts, relations in
// relationLifecycle.ts and running hooks in hookRunner.ts.

import { randomUUID } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Agent, writeClientScript } from "./agent.js";
import { backendServerSource } from "./backendServer.js";
import { readCharmMeta } from "./charmMeta.js";
import { resourcePrefix, sweepAbandonedModels, track, untrack } from "./cleanup.js";
import { effectiveConfig, optionValue } from "./configValues.js";
import type { BackendServer, BackendTls, RunningServer } from "./deployment.js";
import { Deployment, replacementHaproxy } from "./deployment.js";
import type { ModelView } from "./hookContext.js";
import { HookRunner } from "./hookRunner.js";
import type { HttpOptions, HttpResponse } from "./httpClient.js";
import { httpRequest } from "./httpClient.js";
import type { ExecResult } from "./machine.js";
import { ModelState, jujuVersion, unitNumber } from "./modelState.js";
import { Network } from "./network.js";
import { RelationLifecycle } from "./relationLifecycle.js";
import type {
  ActionResult,
  Application,
  CharmMeta,
  EndpointSpec,
  Relation,
  ScriptedSpec,
  Unit,
  WorkloadStatus,
} from "./state.js";
import { isPeer } from "./state.js";
import type { ModelStatus } from "./statusTable.js";
import { applicationStatusOf, formatStatus } from "./statusTable.js";
import type { MachineSystem } from "./systemShims.js";
import { hookTools, toolsReadingFiles } from "./tools/registry.js";

export { jujuVersion } from "./modelState.js";
export type { BackendServer, BackendTls, RunningServer } from "./deployment.js";
export type { SeenRequest } from "./backendServer.js";

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

let modelCounter = 0;

export class LocalModel implements ModelView {
  readonly uuid = randomUUID();
  private readonly state = new ModelState();
  private readonly relations = new RelationLifecycle(this.state);
  private readonly deployment: Deployment;
  private readonly hooks: HookRunner;
  private destroyed = false;

  private constructor(
    readonly name: string,
    /** Prefix of every namespace this model owns. */
    readonly prefix: string,
    /** Everything the model writes on the host lives under this directory. */
    readonly dir: string,
    private readonly network: Network,
    private readonly agent: Agent,
    hookTimeoutMs: number,
    /** What replaces the host's /usr/sbin/haproxy on charm units' machines, if anything. */
    haproxyBinary: string | undefined,
  ) {
    this.deployment = new Deployment(this.state, this.relations, {
      name,
      prefix,
      dir,
      network,
      agent,
      haproxyBinary,
    });
    this.hooks = new HookRunner(this.state, this.relations, this.deployment, {
      view: this,
      agent,
      toolsDir: this.toolsDir,
      hookTimeoutMs,
    });
  }

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
    if (this.state.applications.has(name)) throw new Error(`application ${name} already exists`);
    const copy = join(this.dir, `${name}-${basename(charmFile)}`);
    copyFileSync(charmFile, copy);
    const app = this.deployment.addApplication(name, meta, { charmFile: copy });
    for (const [key, value] of Object.entries(options.config ?? {})) {
      app.config.set(key, optionValue(key, meta.options.get(key), value));
    }
    for (const endpoint of meta.endpoints.filter((candidate) => candidate.role === "peers")) {
      this.relations.create([
        { app: name, endpoint },
        { app: name, endpoint },
      ]);
    }
    for (let count = 0; count < (options.units ?? 1); count += 1) {
      await this.deployment.addUnit(app);
    }
    await this.settle();
    return app;
  }

  /** A remote application the test plays: endpoints, units and relation data, no hooks. */
  async deployScripted(name: string, options: ScriptedOptions): Promise<Application> {
    if (this.state.applications.has(name)) throw new Error(`application ${name} already exists`);
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
    const app = this.deployment.addApplication(name, meta, { scripted });
    for (let count = 0; count < (options.units ?? 1); count += 1) {
      await this.deployment.addUnit(app);
    }
    await this.settle();
    return app;
  }

  /** `juju add-unit <app> -n N` */
  async addUnit(appName: string, count = 1): Promise<Unit[]> {
    const app = this.state.requireApplication(appName);
    const added: Unit[] = [];
    for (let index = 0; index < count; index += 1) added.push(await this.deployment.addUnit(app));
    await this.settle();
    return added;
  }

  /** `juju remove-unit <unit>`: departed on both sides, then broken, stop and remove. */
  async removeUnit(unitName: string): Promise<void> {
    this.deployment.removeUnit(this.requireUnit(unitName));
    await this.settle();
  }

  /** `juju config <app> key=value ...`; a null value resets the option to its default. */
  async config(appName: string, values: Readonly<Record<string, unknown>>): Promise<void> {
    const app = this.state.requireApplication(appName);
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
    for (const unit of this.state.liveUnits(app)) {
      this.state.queueFor(unit, { kind: "config-changed" });
    }
    await this.settle();
  }

  /** `juju integrate a[:endpoint] b[:endpoint]`; returns the relation id. */
  async integrate(first: string, second: string): Promise<number> {
    const [sideA, sideB] = this.relations.matchEndpoints(first, second);
    const relation = this.relations.create([sideA, sideB]);
    await this.settle();
    return relation.id;
  }

  /** `juju remove-relation a b` (or by id). */
  async removeRelation(first: string | number, second?: string): Promise<void> {
    const relation =
      typeof first === "number"
        ? this.state.relations.get(first)
        : this.relationBetween(first, second ?? "");
    if (relation === undefined || relation.dying)
      throw new Error(`no such relation: ${first} ${second ?? ""}`);
    this.relations.remove(relation);
    await this.settle();
  }

  /** `juju resolve <unit>`: retry the failed hook (or skip it with retry=false). */
  async resolve(unitName: string, options: { retry?: boolean } = {}): Promise<void> {
    this.hooks.resolve(this.requireUnit(unitName), options.retry ?? true);
    await this.settle();
  }

  /** Runs one hook on a unit as Juju would on its own, e.g. `update-status`. */
  async trigger(
    unitName: string,
    kind: "update-status" | "upgrade-charm" | "config-changed",
  ): Promise<void> {
    this.state.queueFor(this.requireUnit(unitName), { kind });
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
    const id = String(this.hooks.actionResults.size + 1);
    this.state.queueFor(unit, {
      kind: "action",
      action: { id, name: action, params: { ...spec.defaults, ...params } },
    });
    await this.settle();
    const result = this.hooks.actionResults.get(id);
    if (result === undefined) throw new Error(`action ${action} on ${unitName} did not run`);
    return result;
  }

  /** `juju refresh <app> --path new.charm`: new files, then upgrade-charm and config-changed. */
  async refresh(appName: string, charmFile: string): Promise<void> {
    const app = this.state.requireApplication(appName);
    if (app.charmFile === undefined) throw new Error(`${appName} is scripted`);
    copyFileSync(charmFile, app.charmFile);
    for (const unit of this.state.liveUnits(app)) {
      await this.deployment.unpackCharm(unit);
      this.state.queueFor(unit, { kind: "upgrade-charm" });
      this.state.queueFor(unit, { kind: "config-changed" });
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
    this.relations.setScriptedData(unitOrApp, relationId, data);
    await this.settle();
  }

  /** Runs queued hooks until none is left, or only units in error have some. */
  settle(): Promise<void> {
    return this.hooks.settle();
  }

  // ---------------------------------------------------------------- inspection

  application(name: string): Application | undefined {
    return this.state.applications.get(name);
  }

  unit(name: string): Unit | undefined {
    return this.state.units.get(name);
  }

  requireUnit(name: string): Unit {
    return this.state.requireUnit(name);
  }

  relation(id: number): Relation | undefined {
    return this.state.relations.get(id);
  }

  /** The live relation between two `app[:endpoint]` names, if any. */
  relationBetween(first: string, second: string): Relation | undefined {
    return this.state.relationBetween(first, second);
  }

  effectiveConfig(app: Application): Record<string, unknown> {
    return effectiveConfig(app.meta.options, app.config);
  }

  /** The machine's systemd stand-in and the shims' record of commands. */
  system(unitName: string): MachineSystem {
    const system = this.state.systems.get(unitName);
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

  /**
   * Starts a real web server in a unit's machine, answering with the unit's name
   * (or `reply`), over HTTPS when given `tls`; `requests()` lists what it received.
   */
  serveHttp(
    unitName: string,
    port: number,
    reply = unitName,
    tls?: BackendTls,
  ): Promise<BackendServer> {
    return this.deployment.serveHttp(unitName, port, reply, tls);
  }

  /** The web server running on a unit's port (from `httpPort` or `serveHttp`). */
  backendServer(unitName: string, port: number): BackendServer {
    const server = this.deployment.backendServer(unitName, port);
    if (server === undefined) throw new Error(`no web server on ${unitName}:${port}`);
    return server;
  }

  /**
   * Starts any long-running process in a unit's machine (a TCP server, a
   * database), ready once its stdout contains `readyText`; it stops with the model.
   */
  runServer(unitName: string, argv: readonly string[], readyText?: string): Promise<RunningServer> {
    return this.deployment.runServer(unitName, argv, readyText);
  }

  status(): ModelStatus {
    const applications = [...this.state.applications.values()]
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
    const integrations = [...this.state.relations.values()]
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
    for (const unit of this.state.units.values()) unit.machine.destroySync();
    this.network.destroySync();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What `juju status` shows for a unit: a failed hook overrides the charm's own status. */
function displayedWorkload(unit: Unit): WorkloadStatus {
  if (unit.agent === "error") {
    return { status: "error", message: `hook failed: "${unit.failedHookName ?? "unknown"}"` };
  }
  return unit.workload;
}
