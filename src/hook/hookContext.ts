// What Juju tells a hook through its environment.

export interface HookContext {
  readonly hookName: string;
  readonly unitName: string;
  readonly relationId?: string;
  readonly remoteUnit?: string;
  readonly departingUnit?: string;
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
  return {
    hookName,
    unitName: optional("JUJU_UNIT_NAME") ?? "haproxy/0",
    ...(relationId !== undefined && { relationId }),
    ...(remoteUnit !== undefined && { remoteUnit }),
    ...(departingUnit !== undefined && { departingUnit }),
  };
}
