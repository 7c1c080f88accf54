// What the local model knows: applications, units, relations and the hooks
// queued for each unit. Plain data; model.ts changes it, hook tools read it.

import type { Machine } from "./machine.js";

export type Role = "provides" | "requires" | "peers";

export interface EndpointSpec {
  readonly name: string;
  readonly interface: string;
  readonly role: Role;
  readonly scope: "global" | "container";
}

export type OptionType = "string" | "int" | "float" | "boolean" | "secret";

export interface OptionSpec {
  readonly type: OptionType;
  readonly default?: unknown;
}

export interface ActionSpec {
  /** Parameter defaults from actions.yaml, applied like Juju does. */
  readonly defaults: Readonly<Record<string, unknown>>;
}

/** What a charm declares about itself (metadata.yaml, config.yaml, actions.yaml). */
export interface CharmMeta {
  readonly name: string;
  readonly endpoints: readonly EndpointSpec[];
  readonly extraBindings: readonly string[];
  readonly options: ReadonlyMap<string, OptionSpec>;
  readonly actions: ReadonlyMap<string, ActionSpec>;
}

export type WorkloadStatusName =
  "maintenance" | "blocked" | "waiting" | "active" | "unknown" | "error";

export interface WorkloadStatus {
  readonly status: WorkloadStatusName;
  readonly message: string;
}

export type Settings = Map<string, string>;

/** A remote application the test plays: no hooks, its data set by the test. */
export interface ScriptedSpec {
  /** Settings each unit publishes as soon as it enters a relation, as its joined hook would. */
  readonly unitSettings?: (unit: UnitInfo, relation: RelationInfo) => Record<string, string>;
  /** Each unit serves HTTP on this port, answering with its name. */
  readonly httpPort?: number;
}

export interface Application {
  readonly name: string;
  readonly meta: CharmMeta;
  /** The unpacked-from `.charm` file; absent for scripted applications. */
  readonly charmFile?: string;
  readonly scripted?: ScriptedSpec;
  readonly units: Unit[];
  nextUnitNumber: number;
  readonly config: Map<string, unknown>;
  appStatus?: WorkloadStatus;
  readonly leaderSettings: Settings;
  version: string;
}

export interface HookRun {
  readonly hook: string;
  readonly exitCode: number;
  readonly output: string;
  readonly durationMs: number;
}

export interface LogLine {
  readonly level: string;
  readonly message: string;
}

export interface Unit {
  readonly name: string;
  readonly app: Application;
  readonly machine: Machine;
  leader: boolean;
  workload: WorkloadStatus;
  agent: "allocating" | "idle" | "executing" | "error";
  /** The hook that failed, retried by `resolve`, and its name for `juju status`. */
  failedHook?: HookEvent;
  failedHookName?: string;
  readonly openedPorts: Set<string>;
  /** Relations this unit has seen created and not yet broken. */
  readonly knownRelations: Set<number>;
  /** Per relation, the remote units this unit has seen join: what relation-list prints. */
  readonly members: Map<number, Set<string>>;
  readonly log: LogLine[];
  readonly hookRuns: HookRun[];
  dying: boolean;
}

export interface RelationSide {
  readonly app: string;
  readonly endpoint: EndpointSpec;
}

export interface Relation {
  readonly id: number;
  /** Two sides; a peer relation has the same side twice. */
  readonly sides: readonly [RelationSide, RelationSide];
  readonly unitSettings: Map<string, Settings>;
  readonly appSettings: Map<string, Settings>;
  dying: boolean;
}

export interface UnitInfo {
  readonly name: string;
  readonly address: string;
}

export interface RelationInfo {
  readonly id: number;
  readonly endpoint: string;
  readonly remoteApp: string;
}

export type HookKind =
  | "install"
  | "leader-elected"
  | "leader-settings-changed"
  | "config-changed"
  | "start"
  | "upgrade-charm"
  | "update-status"
  | "stop"
  | "remove"
  | "relation-created"
  | "relation-joined"
  | "relation-changed"
  | "relation-departed"
  | "relation-broken"
  | "action";

export interface ActionRequest {
  readonly id: string;
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
}

export interface HookEvent {
  readonly seq: number;
  readonly unit: string;
  readonly kind: HookKind;
  readonly relationId?: number;
  readonly remoteUnit?: string;
  readonly remoteApp?: string;
  readonly departingUnit?: string;
  readonly action?: ActionRequest;
}

export interface ActionResult {
  readonly status: "completed" | "failed";
  readonly message: string;
  readonly results: Record<string, unknown>;
  readonly output: string;
}

export function isPeer(relation: Relation): boolean {
  return relation.sides[0].endpoint.role === "peers";
}

/** The side of `relation` that `app` is on. */
export function localSide(relation: Relation, app: string): RelationSide {
  const side = relation.sides.find((candidate) => candidate.app === app);
  if (side === undefined) throw new Error(`${app} is not in relation ${relation.id}`);
  return side;
}

export function remoteSide(relation: Relation, app: string): RelationSide {
  if (isPeer(relation)) return relation.sides[0];
  const side = relation.sides.find((candidate) => candidate.app !== app);
  if (side === undefined) throw new Error(`relation ${relation.id} has no remote side for ${app}`);
  return side;
}

export function relationKey(relation: Relation, app: string): string {
  return `${localSide(relation, app).endpoint.name}:${relation.id}`;
}

export function appOfUnit(unitName: string): string {
  const slash = unitName.indexOf("/");
  return slash === -1 ? unitName : unitName.slice(0, slash);
}
