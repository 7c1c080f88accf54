// Maps each Juju event to what the charm does about it.
import { access, chmod, mkdir } from "node:fs/promises";

import {
  CachingHookTools,
  loadHookToolCache,
  saveHookToolCache,
} from "../juju/cachingHookTools.js";
import { ConfigError } from "../lib/errors.js";
import { writeIfChanged } from "../lib/managedFiles.js";
import { socketAnswers } from "../lib/socketAnswers.js";
import { adminSocketPath } from "../model/runtimeFiles.js";
import { relationHookOf } from "../relations/registry.js";
import { timeStep } from "../lib/stepTimer.js";
import { afterFailedHook, isAudit, refreshedCache } from "./cacheRefresh.js";
import type { HookContext } from "./hookContext.js";
import type { HookDeps, Outcome } from "./reconcile.js";
import { stateFilePath } from "../stateFiles.js";

// The reconcile path (model, templates, YAML) loads only when a hook needs it:
// update-status with haproxy running never does.
const reconcile = async (deps: HookDeps, context: HookContext) =>
  (await timeStep("load reconcile", () => import("./reconcile.js"))).reconcile(deps, context);

/** The charm's own events after which everything is brought in line. */
const RECONCILING_CHARM_HOOKS = new Set([
  "config-changed",
  "start",
  "upgrade-charm",
  "leader-elected",
]);

export async function runHook(deps: HookDeps, context: HookContext): Promise<void> {
  const file = stateFilePath(deps.paths.charmState, "hookToolCache");
  const cached = await timeStep("read hook-tool cache", () => loadHookToolCache(file));
  const trusted = refreshedCache(cached, context);
  const tools = new CachingHookTools(deps.tools, trusted, { audit: isAudit(context) });
  try {
    if (isAudit(context)) await tools.audit(context.unitName);
    await handleEvent({ ...deps, tools }, context);
    await tools.finish();
  } catch (error) {
    // The cache stays as this hook trusted it, without what it was to refresh
    // and without the status (see afterFailedHook).
    await saveHookToolCache(file, afterFailedHook(trusted)).catch(() => undefined);
    throw error;
  }
  await timeStep("save hook-tool cache", () => saveHookToolCache(file, tools.cache));
}

async function handleEvent(deps: HookDeps, context: HookContext): Promise<void> {
  const { hookName } = context;
  const { tools, service } = deps;

  if (hookName === "install") {
    await tools.statusSet("maintenance", "Installing");
    await ensureDirectories(deps);
    await tools.statusSet("maintenance", "Installed; waiting for configuration");
    return;
  }
  if (hookName === "stop") {
    const { releaseVip } = await import("../vip/maintainVip.js");
    await releaseVip(deps);
    if (await service.isRunning()) await service.stop();
    return;
  }
  if (hookName === "update-status") {
    // A haproxy that could not start or reload is tried again (and the
    // status cleared) even when something else has started it since.
    if (
      (await exists(stateFilePath(deps.paths.charmState, "haproxyFailed"))) ||
      (await certificateRenewalDue(deps))
    ) {
      await ensureDirectories(deps);
      await reconcile(deps, context);
      return;
    }
    await startIfStopped(deps, context);
    const { followHeldVips } = await import("./workloadStatus.js");
    await followHeldVips(deps);
    return;
  }
  // What each relation's hooks do is the registry's (relations/registry.ts).
  const relationHook = relationHookOf(hookName);
  const handling = relationHook?.endpoint.hooks[relationHook.kind];
  const publishAlone = relationHook?.endpoint.publishAlone;
  if (handling === "publish" && publishAlone !== undefined) {
    await ensureDirectories(deps);
    const { withGeneratedSecrets } = await import("./generatedSecrets.js");
    const { readUnitInputs } = await import("./readInputs.js");
    const { readCharmConfig } = await import("../config/charmConfig.js");
    const read = await readUnitInputs(tools, context);
    const config = readCharmConfig(read.config);
    // An invalid option: the reconcile blocks the unit with its message.
    if (config instanceof ConfigError) {
      await reconcile(deps, context);
      return;
    }
    const inputs = await withGeneratedSecrets(deps.paths, config, read);
    await publishAlone(tools, config, inputs, context.relationId);
    await startIfStopped(deps, context);
    return;
  }
  if (RECONCILING_CHARM_HOOKS.has(hookName) || handling === "reconcile" || handling === "upkeep") {
    await ensureDirectories(deps);
    await upkeepAfter(deps, context, await reconcile(deps, context));
    return;
  }
  if (hookName === "remove") {
    const { removeUpkeep } = await import("./upkeep.js");
    await removeUpkeep(deps);
    return;
  }
  if (handling !== "quiet") {
    await tools.log("INFO", `no handler for hook ${hookName}; nothing to do`);
    return;
  }
  await startIfStopped(deps, context);
}

/**
 * Whatever the charm's event, a haproxy that died or was stopped by hand is
 * brought back, once the charm has a configuration for it; if it cannot
 * start, the reconcile says why in a blocked status.
 */
async function startIfStopped(deps: HookDeps, context: HookContext): Promise<void> {
  // A worker answering the admin socket is a haproxy that runs: the service
  // manager (a systemctl run, some 35 ms) is asked only when none does.
  if (await socketAnswers(adminSocketPath(deps.paths.haproxyRun))) return;
  if (await deps.service.isRunning()) return;
  if (!(await exists(deps.paths.haproxyConfig))) return;
  await deps.tools.log("WARNING", "haproxy is not running; starting it");
  await ensureDirectories(deps);
  await reconcile(deps, context);
}

/** The served certificate has reached its renewal time and no fresh CSR went out since. */
async function certificateRenewalDue(deps: HookDeps): Promise<boolean> {
  if (!(await exists(stateFilePath(deps.paths.charmState, "heldCertificate")))) {
    return false;
  }
  const { renewalDue } = await import("../relations/certificates/relationCertificate.js");
  return renewalDue(deps.paths, deps.now?.() ?? Date.now());
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Metrics schedule, nrpe checks, monitoring relations, machine options; the status they may block. */
async function upkeepAfter(deps: HookDeps, context: HookContext, outcome: Outcome): Promise<void> {
  const { upkeep } = await import("./upkeep.js");
  const { settleWorkloadStatus } = await import("./workloadStatus.js");
  const upkept = await timeStep("upkeep", () => upkeep(deps, context, outcome.plan));
  await settleWorkloadStatus(deps, [...outcome.statusParts, upkept], outcome.status);
}

async function ensureDirectories(deps: HookDeps): Promise<void> {
  const { paths } = deps;
  await mkdir(paths.haproxyLib, { recursive: true });
  await mkdir(paths.haproxyRun, { recursive: true, mode: 0o755 });
  // Only its owner (the charm's user, root on a unit) may write there.
  await chmod(paths.haproxyRun, 0o755);
  if (paths.system !== undefined) {
    await writeIfChanged(
      paths.system.runtimeDirectoryConfig,
      "# Written by the haproxy charm: haproxy's admin socket and server state.\n" +
        `d ${paths.haproxyRun} 0755 root root -\n`,
      0o644,
    );
  }
  await mkdir(paths.charmState, { recursive: true, mode: 0o700 });
}
