// One haproxy unit's world for hook-layer tests: the charm's paths in a
// temporary directory, a real haproxy managed like systemd would, and the
// hook runner wired to the given hook tools.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { hookContextFromEnv } from "../../src/hook/hookContext.js";
import type { HookDeps } from "../../src/hook/reconcile.js";
import { runHook } from "../../src/hook/runHook.js";
import type { HookTools } from "../../src/juju/hookTools.js";
import type { Paths } from "../../src/paths.js";
import { HaproxyProcess } from "./haproxyProcess.js";

export interface UnitSandbox {
  readonly root: string;
  readonly paths: Paths;
  readonly haproxy: HaproxyProcess;
  readonly deps: HookDeps;
  /** Runs a hook of haproxy/0 as Juju would, with extra environment (JUJU_RELATION_ID, ...). */
  hook(name: string, env?: Record<string, string>): Promise<void>;
  /** Stops haproxy and removes the directory. */
  cleanup(): Promise<void>;
}

export async function createUnitSandbox(
  tools: HookTools,
  options: {
    readonly probePorts?: readonly number[];
    /** The haproxy that checks and runs the configuration; absent, the system's. */
    readonly haproxyBinary?: string;
    /** The hook's clock (certificate renewal); absent, the system's. */
    readonly now?: () => number;
  } = {},
): Promise<UnitSandbox> {
  const root = await mkdtemp(path.join(tmpdir(), "charm-unit-"));
  const paths: Paths = {
    haproxyConfig: path.join(root, "etc", "haproxy.cfg"),
    haproxyLib: path.join(root, "lib"),
    haproxyRun: path.join(root, "run"),
    charmState: path.join(root, "state"),
  };
  await mkdir(path.join(root, "etc"));
  const haproxy = new HaproxyProcess({
    configFile: paths.haproxyConfig,
    pidFile: path.join(root, "haproxy.pid"),
    ...(options.probePorts && { probePorts: options.probePorts }),
    ...(options.haproxyBinary && { haproxyBinary: options.haproxyBinary }),
  });
  const deps: HookDeps = {
    tools,
    paths,
    service: haproxy,
    haproxyBinary: options.haproxyBinary ?? "haproxy",
    fileOwner: "haproxy",
    ...(options.now && { now: options.now }),
  };
  return {
    root,
    paths,
    haproxy,
    deps,
    hook: (name, env = {}) =>
      runHook(deps, hookContextFromEnv(name, { JUJU_UNIT_NAME: "haproxy/0", ...env })),
    cleanup: async () => {
      await haproxy.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
