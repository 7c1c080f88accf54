// What the local model holds: its applications, units (with their machines'
// systems) and relations, and the hooks waiting to run; lookups over them.
// The deployment, the relation lifecycle and the hook runner change it.

import { HookQueue } from "./hookQueue.js";
import type { QueuedEvent } from "./hookQueue.js";
import type { Application, Relation, Unit } from "./state.js";
import type { MachineSystem } from "./systemShims.js";

export const jujuVersion = "3.6.4";

export class ModelState {
  readonly applications = new Map<string, Application>();
  readonly relations = new Map<number, Relation>();
  readonly units = new Map<string, Unit>();
  readonly systems = new Map<string, MachineSystem>();
  readonly queue = new HookQueue();

  requireApplication(name: string): Application {
    const app = this.applications.get(name);
    if (app === undefined) throw new Error(`no application ${name}`);
    return app;
  }

  requireUnit(name: string): Unit {
    const unit = this.units.get(name);
    if (unit === undefined) throw new Error(`no unit ${name}`);
    return unit;
  }

  liveUnits(app: Application): Unit[] {
    return app.units.filter((unit) => !unit.dying);
  }

  relationsOfApp(appName: string): Relation[] {
    return [...this.relations.values()].filter(
      (relation) => !relation.dying && relation.sides.some((side) => side.app === appName),
    );
  }

  /** Units of both sides that are still in the relation's scope. */
  unitsInScope(relation: Relation): Unit[] {
    const apps = new Set(relation.sides.map((side) => side.app));
    return [...apps].flatMap((app) => this.applications.get(app)?.units ?? []);
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

  /** Queues a hook for a unit that runs a charm; scripted units run none. */
  queueFor(unit: Unit, event: Omit<QueuedEvent, "unit">): void {
    if (unit.app.scripted) return;
    this.queue.push({ ...event, unit: unit.name });
  }
}

export function unitNumber(name: string): number {
  return Number(name.split("/")[1] ?? 0);
}
