// Applications related on a modern endpoint, as a hook's inputs list them:
// each application's bag and its units' bags, every value written as
// Canonical's libraries dump it (JSON text), unless given as Raw.
import type { RemoteApp, RemoteUnit } from "../../src/juju/hookInputs.js";

/** A bag value written as it is, not JSON-encoded. */
export class Raw {
  constructor(readonly text: string) {}
}

/** A bag as the library dumps it: each value JSON text; `undefined` leaves the key out. */
export function bag(values: Record<string, unknown>): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    settings[key] = value instanceof Raw ? value.text : JSON.stringify(value);
  }
  return settings;
}

export interface Related {
  readonly relation: number;
  readonly app: string;
  readonly values: Record<string, unknown>;
  /** Each unit's `address` (one unit at 10.0.0.5 when not given); undefined: not written yet. */
  readonly addresses?: readonly (unknown | undefined)[];
}

/** The applications' and their units' bags on `endpoint`. */
export function relatedBags(
  endpoint: string,
  related: readonly Related[],
): { apps: RemoteApp[]; units: RemoteUnit[] } {
  const apps: RemoteApp[] = [];
  const units: RemoteUnit[] = [];
  for (const { relation, app, values, addresses = ["10.0.0.5"] } of related) {
    const relationId = `${endpoint}:${relation}`;
    apps.push({ relationId, app, settings: bag(values) });
    addresses.forEach((address, i) =>
      units.push({
        relationId,
        unit: `${app}/${i}`,
        settings: address === undefined ? {} : bag({ address }),
      }),
    );
  }
  return { apps, units };
}
