// A saved hook context (config and relation data) for `render --from`: the
// operator's dry run, and the way tests describe a whole input state.
import type { HookInputs, RemoteUnit } from "../juju/hookInputs.js";
import { describeError } from "../lib/describeError.js";

export class SnapshotError extends Error {
  override readonly name = "SnapshotError";
}

export function parseSnapshot(text: string): HookInputs {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new SnapshotError(`not valid JSON: ${describeError(error)}`);
  }
  const root = objectAt(document, "snapshot");
  return {
    unitName: stringAt(root.unitName, "unitName", "haproxy/0"),
    privateAddress: stringAt(root.privateAddress, "privateAddress", "127.0.0.1"),
    publicAddress: stringAt(root.publicAddress, "publicAddress", "127.0.0.1"),
    config: objectAt(root.config ?? {}, "config"),
    reverseproxy: unitsAt(root.reverseproxy, "reverseproxy"),
    peers: unitsAt(root.peers, "peers"),
    ...(typeof root.generatedMonitoringPassword === "string" && {
      generatedMonitoringPassword: root.generatedMonitoringPassword,
    }),
  };
}

function unitsAt(value: unknown, field: string): RemoteUnit[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new SnapshotError(`${field}: expected a list of units`);
  return value.map((entry, i) => {
    const unit = objectAt(entry, `${field}[${i}]`);
    const settings = objectAt(unit.settings ?? {}, `${field}[${i}].settings`);
    return {
      relationId: stringAt(unit.relationId, `${field}[${i}].relationId`, `${field}:0`),
      unit: stringAt(unit.unit, `${field}[${i}].unit`),
      settings: Object.fromEntries(
        Object.entries(settings).map(([key, v]) => [
          key,
          typeof v === "string" ? v : JSON.stringify(v),
        ]),
      ),
    };
  });
}

function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SnapshotError(`${field}: expected an object`);
  }
  return value as Record<string, unknown>;
}

function stringAt(value: unknown, field: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string") throw new SnapshotError(`${field}: expected a string`);
  return value;
}
