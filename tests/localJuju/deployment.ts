// Applications, units and their machines in the local model: a unit gets a
// machine of its own (shims for the system tools, the charm unpacked), enters
// its application's relations and queues Juju's install sequence; removal
// queues departed, broken, stop and remove, and a leader leaving elects another.

import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Agent } from "./agent.js";
import { writeClientScript } from "./agent.js";
import { HaproxyService } from "./haproxyService.js";
import { KeepalivedService } from "./keepalivedService.js";
import { Machine, basePath } from "./machine.js";
import type { ModelState } from "./modelState.js";
import { unitNumber } from "./modelState.js";
import type { Network } from "./network.js";
import type { RelationLifecycle } from "./relationLifecycle.js";
import type { Application, CharmMeta, ScriptedSpec, Unit } from "./state.js";
import { isPeer, remoteSide } from "./state.js";
import type { SeenRequest } from "./backendServer.js";
import type { MachineSystem } from "./systemShims.js";

export interface BackendServer {
  readonly unit: string;
  readonly port: number;
  /** Every request the server has received so far, oldest first. */
  requests(): SeenRequest[];
  stop(): void;
}

/** Certificate and key (PEM) for a backend server that speaks HTTPS. */
export interface BackendTls {
  readonly certificate: string;
  readonly key: string;
}

/** A process started in a unit's machine, with what it printed. */
export interface RunningServer {
  readonly unit: string;
  /** Everything it wrote to stdout so far. */
  output(): string;
  stop(): void;
}

/** What machines are made from: the model's names, directory, agent and network. */
export interface MachineHost {
  readonly name: string;
  /** Prefix of every namespace the model owns. */
  readonly prefix: string;
  /** Everything the model writes on the host lives under this directory. */
  readonly dir: string;
  readonly network: Network;
  readonly agent: Agent;
  /** What replaces the host's /usr/sbin/haproxy on charm units' machines, if anything. */
  readonly haproxyBinary: string | undefined;
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

export class Deployment {
  private nextMachineId = 0;
  private readonly backendServers = new Map<string, BackendServer>();

  constructor(
    private readonly state: ModelState,
    private readonly relations: RelationLifecycle,
    private readonly host: MachineHost,
  ) {}

  addApplication(
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
    this.state.applications.set(name, app);
    return app;
  }

  /** A new unit on a new machine, in its application's relations, its first hooks queued. */
  async addUnit(app: Application): Promise<Unit> {
    const number = app.nextUnitNumber;
    app.nextUnitNumber += 1;
    const name = `${app.name}/${number}`;
    const machineId = this.nextMachineId;
    this.nextMachineId += 1;
    const machineDir = join(this.host.dir, "machines", String(machineId));
    const shimDir = join(machineDir, "shims");
    mkdirSync(shimDir, { recursive: true });
    const shims = new Map<string, string>();
    for (const [tool, target] of shimTargets) {
      const file = join(shimDir, tool);
      writeClientScript(file, {
        tool,
        socket: this.host.agent.socket,
        unit: name,
        input: tool === "dpkg" ? "set-selections" : "none",
      });
      shims.set(target, file);
    }
    if (this.host.haproxyBinary !== undefined && app.scripted === undefined) {
      // A script that runs it, not the binary itself: a wrapper such as
      // build/haproxy3/haproxy finds its libraries from its own path.
      const file = join(shimDir, "haproxy");
      writeFileSync(file, `#!/bin/sh\nexec ${shellQuote(this.host.haproxyBinary)} "$@"\n`, {
        mode: 0o755,
      });
      shims.set(installedHaproxy, file);
    }
    const machine = await Machine.create(this.host.network, {
      id: machineId,
      namespace: `${this.host.prefix}-m${machineId}`,
      hostname: `juju-${this.host.name}-${machineId}`,
      dir: machineDir,
      ownFilesystem: app.scripted === undefined,
      shims,
    });
    const unit: Unit = {
      name,
      app,
      machine,
      leader: this.state.liveUnits(app).length === 0,
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
    this.state.units.set(name, unit);
    const system: MachineSystem = {
      machine,
      haproxy: new HaproxyService(machine),
      keepalived: new KeepalivedService(machine),
      commands: [],
      selections: [],
      kernelSettings: new Map(),
      enabled: true,
    };
    this.state.systems.set(name, system);
    this.host.agent.addMachineSystem(name, system);
    if (app.scripted) {
      unit.agent = "idle";
      unit.workload = { status: "active", message: "" };
      if (app.scripted.httpPort !== undefined) await this.serveHttp(name, app.scripted.httpPort);
    } else {
      await this.unpackCharm(unit);
      this.state.queueFor(unit, { kind: "install" });
    }
    const relations = this.state.relationsOfApp(app.name);
    for (const relation of relations) this.relations.enterScope(unit, relation);
    if (!app.scripted) {
      for (const relation of relations) {
        this.state.queueFor(unit, {
          kind: "relation-created",
          relationId: relation.id,
          remoteApp: remoteSide(relation, app.name).app,
        });
      }
      this.state.queueFor(unit, {
        kind: unit.leader ? "leader-elected" : "leader-settings-changed",
      });
      this.state.queueFor(unit, { kind: "config-changed" });
      this.state.queueFor(unit, { kind: "start" });
    }
    for (const relation of relations) {
      for (const other of this.state.unitsInScope(relation)) {
        if (other === unit || other.dying) continue;
        if (other.app === app && !isPeer(relation)) continue;
        this.relations.join(unit, other, relation);
        this.relations.join(other, unit, relation);
      }
    }
    return unit;
  }

  /** `juju remove-unit`: departed on both sides, then broken, stop and remove. */
  removeUnit(unit: Unit): void {
    if (unit.dying) throw new Error(`${unit.name} is already being removed`);
    unit.dying = true;
    for (const relation of this.state.relationsOfApp(unit.app.name)) {
      for (const other of this.state.unitsInScope(relation)) {
        if (other === unit || !other.members.get(relation.id)?.has(unit.name)) continue;
        this.state.queueFor(other, {
          kind: "relation-departed",
          relationId: relation.id,
          remoteUnit: unit.name,
          remoteApp: unit.app.name,
          departingUnit: unit.name,
        });
      }
      if (unit.app.scripted) continue;
      for (const member of unit.members.get(relation.id) ?? []) {
        this.state.queueFor(unit, {
          kind: "relation-departed",
          relationId: relation.id,
          remoteUnit: member,
          remoteApp: remoteSide(relation, unit.app.name).app,
          departingUnit: unit.name,
        });
      }
      this.state.queueFor(unit, {
        kind: "relation-broken",
        relationId: relation.id,
        remoteApp: remoteSide(relation, unit.app.name).app,
      });
    }
    if (unit.leader) this.electNewLeader(unit);
    if (unit.app.scripted) this.finishRemoval(unit);
    else {
      this.state.queueFor(unit, { kind: "stop" });
      this.state.queueFor(unit, { kind: "remove" });
    }
  }

  /** After the remove hook (at once for a scripted unit): the unit and its machine are gone. */
  finishRemoval(unit: Unit): void {
    this.state.queue.dropUnit(unit.name);
    const app = unit.app;
    app.units.splice(app.units.indexOf(unit), 1);
    this.state.units.delete(unit.name);
    this.state.systems.delete(unit.name);
    for (const relation of this.state.relations.values()) {
      for (const other of this.state.units.values()) {
        if (other.app.scripted) other.members.get(relation.id)?.delete(unit.name);
      }
    }
    unit.machine.destroySync();
  }

  /** Unzips the charm into the unit's charm directory, inside its machine. */
  async unpackCharm(unit: Unit): Promise<void> {
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

  /** Starts a real node:http server in a unit's machine, answering with the unit's name (or `reply`). */
  async serveHttp(
    unitName: string,
    port: number,
    reply = unitName,
    tls?: BackendTls,
  ): Promise<BackendServer> {
    const tlsFiles: string[] = [];
    if (tls !== undefined) {
      const dir = join(this.host.dir, "backend-tls");
      mkdirSync(dir, { recursive: true });
      const base = join(dir, `${unitName.replace("/", "-")}-${port}`);
      writeFileSync(`${base}.crt`, tls.certificate);
      writeFileSync(`${base}.key`, tls.key, { mode: 0o600 });
      tlsFiles.push(`${base}.crt`, `${base}.key`);
    }
    const script = join(this.host.dir, "bin", "backend-server.mjs");
    const argv = [script, reply, String(port), this.state.requireUnit(unitName).machine.address];
    const server = await this.runServer(unitName, [process.execPath, ...argv, ...tlsFiles]);
    const backend: BackendServer = {
      unit: unitName,
      port,
      requests: () =>
        server
          .output()
          .split("\n")
          .filter((line) => line.startsWith("{"))
          .map((line) => JSON.parse(line) as SeenRequest),
      stop: () => server.stop(),
    };
    this.backendServers.set(`${unitName}:${port}`, backend);
    return backend;
  }

  /** The web server started on a unit's port (by `httpPort` or `serveHttp`), if any. */
  backendServer(unitName: string, port: number): BackendServer | undefined {
    return this.backendServers.get(`${unitName}:${port}`);
  }

  /**
   * Starts a long-running process in a unit's machine and resolves once its
   * stdout contains `readyText`; it fails if the process exits first.
   */
  async runServer(
    unitName: string,
    argv: readonly string[],
    readyText = "listening\n",
  ): Promise<RunningServer> {
    const unit = this.state.requireUnit(unitName);
    const child = unit.machine.spawn(argv);
    let stdout = "";
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes(readyText)) resolve();
      });
      child.on("exit", (code) =>
        reject(new Error(`${argv.join(" ")} on ${unitName} exited (${code}): ${stdout}${stderr}`)),
      );
    });
    return { unit: unitName, output: () => stdout, stop: () => child.kill("SIGTERM") };
  }

  private electNewLeader(leaving: Unit): void {
    leaving.leader = false;
    const next = this.state
      .liveUnits(leaving.app)
      .sort((a, b) => unitNumber(a.name) - unitNumber(b.name))[0];
    if (next === undefined) return;
    next.leader = true;
    this.state.queueFor(next, { kind: "leader-elected" });
  }
}

/** Where a unit's charm is unpacked, as on a Juju machine. */
export function charmDir(unit: Unit): string {
  return `/var/lib/juju/agents/unit-${unit.name.replace("/", "-")}/charm`;
}

/** Where Debian's haproxy package installs the binary its unit file runs. */
const installedHaproxy = "/usr/sbin/haproxy";

/** The haproxy to put in the host's haproxy's place, or undefined when that is the host's. */
export function replacementHaproxy(binary: string | undefined): string | undefined {
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
