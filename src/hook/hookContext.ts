// What Juju tells a hook through its environment.
import type { RelationEvent } from "../juju/relationData.js";

export interface HookContext {
  readonly hookName: string;
  readonly unitName: string;
  readonly relationId?: string;
  readonly remoteUnit?: string;
  readonly departingUnit?: string;
  readonly remoteApp?: string;
  /** JUJU_MODEL_NAME: ingress routes are named after the requirer's model. */
  readonly modelName?: string;
  /** JUJU_MODEL_UUID: part of the names of the alert rules published on cos-agent. */
  readonly modelUuid?: string;
}

/** The relation event a hook is about, for reading only what changed. */
export function relationEventOf(context: HookContext): RelationEvent | undefined {
  const match = /^(.+)-relation-(joined|changed|departed|broken)$/.exec(context.hookName);
  if (match === null || context.relationId === undefined) return undefined;
  return {
    endpoint: match[1] as string,
    relationId: context.relationId,
    ...(context.remoteUnit !== undefined && { remoteUnit: context.remoteUnit }),
    ...(context.departingUnit !== undefined && { departingUnit: context.departingUnit }),
    ...(context.remoteApp !== undefined && { remoteApp: context.remoteApp }),
    broken: match[2] === "broken",
  };
}

export function hookContextFromEnv(
  hookName: string,
  env: Readonly<Record<string, string | undefined>>,
): HookContext {
  const optional = (key: string) => {
    const value = env[key];
    return value === undefined || value === "" ? undefined : value;
  };
  const relationId = optional("JUJU_RELATION_ID");
  const remoteUnit = optional("JUJU_REMOTE_UNIT");
  const departingUnit = optional("JUJU_DEPARTING_UNIT");
  const remoteApp = optional("JUJU_REMOTE_APP");
  const modelName = optional("JUJU_MODEL_NAME");
  const modelUuid = optional("JUJU_MODEL_UUID");
  return {
    hookName,
    unitName: optional("JUJU_UNIT_NAME") ?? "haproxy/0",
    ...(relationId !== undefined && { relationId }),
    ...(remoteUnit !== undefined && { remoteUnit }),
    ...(departingUnit !== undefined && { departingUnit }),
    ...(remoteApp !== undefined && { remoteApp }),
    ...(modelName !== undefined && { modelName }),
    ...(modelUuid !== undefined && { modelUuid }),
  };
}
