// One running hook as the unit agent sees it: what its hook tools may read,
// and the changes they make, held back until the hook exits 0 (Juju discards
// relation-set, leader-set, status-set and port changes of a failed hook).

import type { Application, HookEvent, Relation, Settings, Unit, WorkloadStatus } from "./state.js";
import { localSide, relationKey } from "./state.js";
import { ToolError } from "./tools/toolError.js";

/** The parts of the model a hook can see. */
export interface ModelView {
  readonly name: string;
  readonly uuid: string;
  /** The private network's CIDR, e.g. 10.86.0.0/16. */
  readonly subnet: string;
  application(name: string): Application | undefined;
  unit(name: string): Unit | undefined;
  relation(id: number): Relation | undefined;
  effectiveConfig(app: Application): Record<string, unknown>;
}

/** What a successful hook changed, for the model to commit and announce. */
export interface HookChanges {
  readonly unitSettings: ReadonlyMap<number, Settings>;
  readonly appSettings: ReadonlyMap<number, Settings>;
  readonly status?: WorkloadStatus;
  readonly appStatus?: WorkloadStatus;
  readonly openedPorts?: ReadonlySet<string>;
  readonly leaderSettings?: Settings;
  readonly version?: string;
}

export class HookContext {
  private readonly unitSettings = new Map<number, Settings>();
  private readonly appSettings = new Map<number, Settings>();
  private status?: WorkloadStatus;
  private appStatus?: WorkloadStatus;
  private ports?: Set<string>;
  private leaderSettings?: Settings;
  private version?: string;
  readonly actionResults: Record<string, unknown> = {};
  actionFailure?: string;

  constructor(
    readonly id: string,
    readonly model: ModelView,
    readonly unit: Unit,
    readonly event: HookEvent,
  ) {}

  get app(): Application {
    return this.unit.app;
  }

  /** The relation named by `-r` (`website:3` or `3`), else the hook's own relation. */
  relation(flag: string | undefined): Relation {
    if (flag === undefined) {
      if (this.event.relationId === undefined) throw new ToolError("no relation id specified");
      return this.knownRelation(this.event.relationId, String(this.event.relationId));
    }
    const match = /^(?:([a-z][a-z0-9-]*):)?(\d+)$/.exec(flag);
    if (match === null) throw new ToolError(`invalid relation id "${flag}"`, 2);
    const relation = this.knownRelation(Number(match[2]), flag);
    const endpoint = match[1];
    if (endpoint !== undefined && localSide(relation, this.app.name).endpoint.name !== endpoint) {
      throw new ToolError(`invalid relation id "${flag}"`, 2);
    }
    return relation;
  }

  private knownRelation(id: number, text: string): Relation {
    const relation = this.model.relation(id);
    if (relation === undefined || !this.unit.knownRelations.has(id)) {
      throw new ToolError(`invalid value "${text}" for option -r: relation not found`, 2);
    }
    return relation;
  }

  relationKey(relation: Relation): string {
    return relationKey(relation, this.app.name);
  }

  /** This unit's settings on `relation`, including changes made in this hook. */
  ownSettings(relation: Relation): Settings {
    const pending = this.unitSettings.get(relation.id);
    if (pending !== undefined) return pending;
    return new Map(relation.unitSettings.get(this.unit.name) ?? []);
  }

  setOwnSettings(relation: Relation, changes: ReadonlyMap<string, string>): void {
    const settings = this.ownSettings(relation);
    for (const [key, value] of changes) {
      if (value === "") settings.delete(key);
      else settings.set(key, value);
    }
    this.unitSettings.set(relation.id, settings);
  }

  ownAppSettings(relation: Relation): Settings {
    const pending = this.appSettings.get(relation.id);
    if (pending !== undefined) return pending;
    return new Map(relation.appSettings.get(this.app.name) ?? []);
  }

  setOwnAppSettings(relation: Relation, changes: ReadonlyMap<string, string>): void {
    const settings = this.ownAppSettings(relation);
    for (const [key, value] of changes) {
      if (value === "") settings.delete(key);
      else settings.set(key, value);
    }
    this.appSettings.set(relation.id, settings);
  }

  get workloadStatus(): WorkloadStatus {
    return this.status ?? this.unit.workload;
  }

  setStatus(status: WorkloadStatus): void {
    this.status = status;
  }

  get applicationStatus(): WorkloadStatus {
    return this.appStatus ?? this.app.appStatus ?? { status: "unknown", message: "" };
  }

  setAppStatus(status: WorkloadStatus): void {
    this.appStatus = status;
  }

  get openedPorts(): Set<string> {
    this.ports ??= new Set(this.unit.openedPorts);
    return this.ports;
  }

  get leaderData(): Settings {
    return this.leaderSettings ?? new Map(this.app.leaderSettings);
  }

  setLeaderData(changes: ReadonlyMap<string, string>): void {
    const settings = this.leaderData;
    for (const [key, value] of changes) {
      if (value === "") settings.delete(key);
      else settings.set(key, value);
    }
    this.leaderSettings = settings;
  }

  setVersion(version: string): void {
    this.version = version;
  }

  log(level: string, message: string): void {
    this.unit.log.push({ level, message });
  }

  changes(): HookChanges {
    return {
      unitSettings: this.unitSettings,
      appSettings: this.appSettings,
      ...(this.status && { status: this.status }),
      ...(this.appStatus && { appStatus: this.appStatus }),
      ...(this.ports && { openedPorts: this.ports }),
      ...(this.leaderSettings && { leaderSettings: this.leaderSettings }),
      ...(this.version !== undefined && { version: this.version }),
    };
  }
}
