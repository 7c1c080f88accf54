// Relations in the local model: created between matching endpoints, units
// entering their scope and joining each other, relation data committed (and
// announced with relation-changed), and removal (departed, then broken).

import type { ModelState } from "./modelState.js";
import type {
  Application,
  EndpointSpec,
  Relation,
  RelationInfo,
  Settings,
  Unit,
  UnitInfo,
} from "./state.js";
import { isPeer, localSide, remoteSide } from "./state.js";

export class RelationLifecycle {
  private nextRelationId = 0;

  constructor(private readonly state: ModelState) {}

  /** A new relation: every unit of both sides enters its scope, and they join each other. */
  create(sides: Relation["sides"]): Relation {
    this.nextRelationId += 1;
    const relation: Relation = {
      id: this.nextRelationId,
      sides,
      unitSettings: new Map(),
      appSettings: new Map(),
      dying: false,
    };
    this.state.relations.set(relation.id, relation);
    const units = this.state.unitsInScope(relation).filter((unit) => !unit.dying);
    for (const unit of units) this.enterScope(unit, relation);
    for (const unit of units) {
      if (unit.app.scripted) continue;
      this.state.queueFor(unit, {
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

  /** The two sides `juju integrate a[:endpoint] b[:endpoint]` names, or why there are none. */
  matchEndpoints(first: string, second: string): [Relation["sides"][0], Relation["sides"][1]] {
    const [appA = "", endpointA] = first.split(":");
    const [appB = "", endpointB] = second.split(":");
    const a = this.state.requireApplication(appA);
    const b = this.state.requireApplication(appB);
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
    if (
      this.state.relationBetween(`${appA}:${pair[0].name}`, `${appB}:${pair[1].name}`) !== undefined
    ) {
      throw new Error(`relation ${first} ${second} already exists`);
    }
    return [
      { app: appA, endpoint: pair[0] },
      { app: appB, endpoint: pair[1] },
    ];
  }

  /** `juju remove-relation`: departed for every member, then broken, on every unit in scope. */
  remove(relation: Relation): void {
    relation.dying = true;
    for (const unit of this.state.unitsInScope(relation)) {
      if (unit.app.scripted) {
        unit.members.delete(relation.id);
        unit.knownRelations.delete(relation.id);
        continue;
      }
      const remoteApp = remoteSide(relation, unit.app.name).app;
      for (const member of unit.members.get(relation.id) ?? []) {
        this.state.queueFor(unit, {
          kind: "relation-departed",
          relationId: relation.id,
          remoteUnit: member,
          remoteApp,
          departingUnit: member,
        });
      }
      this.state.queueFor(unit, { kind: "relation-broken", relationId: relation.id, remoteApp });
    }
    this.forgetIfDone(relation);
  }

  /** Juju fills the addresses in a unit's settings when it enters a relation's scope. */
  enterScope(unit: Unit, relation: Relation): void {
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
  join(unit: Unit, remote: Unit, relation: Relation): void {
    if (unit.app.scripted) {
      membersOf(unit, relation.id).add(remote.name);
      return;
    }
    const event = { relationId: relation.id, remoteUnit: remote.name, remoteApp: remote.app.name };
    this.state.queueFor(unit, { kind: "relation-joined", ...event });
    this.state.queueFor(unit, { kind: "relation-changed", ...event });
  }

  /**
   * Sets relation data of a scripted unit (`app/N`) or application (`app`),
   * as its hooks would: committed at once. An empty value deletes the key.
   */
  setScriptedData(
    unitOrApp: string,
    relationId: number,
    data: Readonly<Record<string, string>>,
  ): void {
    const relation = this.state.relations.get(relationId);
    if (relation === undefined) throw new Error(`no relation ${relationId}`);
    const isUnit = unitOrApp.includes("/");
    const app = this.state.requireApplication(isUnit ? (unitOrApp.split("/")[0] ?? "") : unitOrApp);
    if (!app.scripted) throw new Error(`${app.name} runs a charm: its hooks set its relation data`);
    const current = isUnit
      ? (relation.unitSettings.get(unitOrApp) ?? new Map())
      : (relation.appSettings.get(app.name) ?? new Map());
    const updated = applySettings(current, data);
    if (isUnit) this.commitUnitSettings(this.state.requireUnit(unitOrApp), relation, updated);
    else this.commitAppSettings(app, relation, updated);
  }

  /** Stores a unit's settings; if they changed, every unit that sees it gets relation-changed. */
  commitUnitSettings(unit: Unit, relation: Relation, settings: Settings): void {
    if (sameSettings(settings, relation.unitSettings.get(unit.name) ?? new Map())) return;
    relation.unitSettings.set(unit.name, new Map(settings));
    for (const other of this.state.unitsInScope(relation)) {
      if (other === unit || !other.members.get(relation.id)?.has(unit.name)) continue;
      const pending = this.state.queue.has(
        (event) =>
          event.unit === other.name &&
          event.kind === "relation-changed" &&
          event.relationId === relation.id &&
          event.remoteUnit === unit.name,
      );
      if (!pending) {
        this.state.queueFor(other, {
          kind: "relation-changed",
          relationId: relation.id,
          remoteUnit: unit.name,
          remoteApp: unit.app.name,
        });
      }
    }
  }

  commitAppSettings(app: Application, relation: Relation, settings: Settings): void {
    if (sameSettings(settings, relation.appSettings.get(app.name) ?? new Map())) return;
    relation.appSettings.set(app.name, new Map(settings));
    const remoteApp = remoteSide(relation, app.name).app;
    for (const other of this.state.applications.get(remoteApp)?.units ?? []) {
      if (isPeer(relation) && other.app === app && other.leader) continue;
      if (!other.knownRelations.has(relation.id)) continue;
      this.state.queueFor(other, {
        kind: "relation-changed",
        relationId: relation.id,
        remoteApp: app.name,
      });
    }
  }

  /** A removed relation is gone once no unit knows it any more (its broken hooks have run). */
  forgetIfDone(relation: Relation): void {
    if (!relation.dying) return;
    const stillKnown = [...this.state.units.values()].some((unit) =>
      unit.knownRelations.has(relation.id),
    );
    if (!stillKnown) this.state.relations.delete(relation.id);
  }
}

export function membersOf(unit: Unit, relationId: number): Set<string> {
  let members = unit.members.get(relationId);
  if (members === undefined) {
    members = new Set();
    unit.members.set(relationId, members);
  }
  return members;
}

export function sameSettings(
  a: ReadonlyMap<string, string>,
  b: ReadonlyMap<string, string>,
): boolean {
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
