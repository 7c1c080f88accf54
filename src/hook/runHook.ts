// Maps each Juju event to what the charm does about it.
import { access, chmod, mkdir } from "node:fs/promises";
import path from "node:path";

import {
  CachingHookTools,
  loadHookToolCache,
  saveHookToolCache,
} from "../juju/cachingHookTools.js";
import { writeIfChanged } from "../lib/managedFiles.js";
import { timeStep } from "../lib/stepTimer.js";
import { afterFailedHook, isAudit, refreshedCache } from "./cacheRefresh.js";
import type { HookContext } from "./hookContext.js";
import type { HookDeps, Outcome } from "./reconcile.js";
import { haproxyFailedMarker } from "./watchedService.js";

// The reconcile path (model, templates, YAML) loads only when a hook needs it:
// update-status with haproxy running never does.
const reconcile = async (deps: HookDeps, context: HookContext) =>
  (await timeStep("load reconcile", () => import("./reconcile.js"))).reconcile(deps, context);

const RECONCILING_HOOKS = new Set([
  "config-changed",
  "start",
  "upgrade-charm",
  "leader-elected",
  "reverseproxy-relation-changed",
  "reverseproxy-relation-departed",
  "reverseproxy-relation-broken",
  "peer-relation-joined",
  "peer-relation-changed",
  "peer-relation-departed",
  "peer-relation-broken",
  "website-relation-joined",
  "website-relation-changed",
  // A proxy front end that leaves takes its `option forwardfor` with it.
  "website-relation-departed",
  "website-relation-broken",
  ...["ingress", "certificates", "cos-agent"].flatMap((endpoint) =>
    ["joined", "changed", "departed", "broken"].map((kind) => `${endpoint}-relation-${kind}`),
  ),
]);

// The monitoring relations: their data needs the configuration a reconcile checks.
const MONITORING_HOOKS = new Set([
  "statistics-relation-joined",
  "statistics-relation-changed",
  "nrpe-external-master-relation-joined",
  "nrpe-external-master-relation-changed",
  "local-monitors-relation-joined",
  "local-monitors-relation-changed",
]);

// Events of metadata.yaml the charm has nothing to do for (yet).
const QUIET_HOOKS =
  /^(remove|.*-relation-created|(munin|nrpe-external-master|local-monitors|statistics)-relation-.*)$/;

/** The hook-tool cache: config, addresses, opened ports, what was last published. */
export const hookToolCacheFile = "hook-tool-cache.json";

export async function runHook(deps: HookDeps, context: HookContext): Promise<void> {
  const file = path.join(deps.paths.charmState, hookToolCacheFile);
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
      (await exists(path.join(deps.paths.charmState, haproxyFailedMarker))) ||
      (await certificateRenewalDue(deps))
    ) {
      await ensureDirectories(deps);
      await reconcile(deps, context);
      return;
    }
    await startIfStopped(deps, context);
    const { refreshVipStatus } = await import("../vip/maintainVip.js");
    await refreshVipStatus(deps);
    return;
  }
  if (hookName === "reverseproxy-relation-joined") {
    await ensureDirectories(deps);
    const { withGeneratedSecrets } = await import("./generatedSecrets.js");
    const { readUnitInputs } = await import("./readInputs.js");
    const { publishToReverseproxy } = await import("./publishRelations.js");
    const inputs = await withGeneratedSecrets(deps.paths, await readUnitInputs(tools, context));
    await publishToReverseproxy(tools, inputs, context.relationId ? [context.relationId] : []);
    await startIfStopped(deps, context);
    return;
  }
  if (RECONCILING_HOOKS.has(hookName) || MONITORING_HOOKS.has(hookName)) {
    await ensureDirectories(deps);
    await upkeepAfter(deps, context, await reconcile(deps, context));
    return;
  }
  if (hookName === "remove") {
    const { removeUpkeep } = await import("./upkeep.js");
    await removeUpkeep(deps);
    return;
  }
  if (!QUIET_HOOKS.test(hookName)) {
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
  if (await deps.service.isRunning()) return;
  if (!(await exists(deps.paths.haproxyConfig))) return;
  await deps.tools.log("WARNING", "haproxy is not running; starting it");
  await ensureDirectories(deps);
  await reconcile(deps, context);
}

/** The served certificate has reached its renewal time and no fresh CSR went out since. */
async function certificateRenewalDue(deps: HookDeps): Promise<boolean> {
  if (!(await exists(path.join(deps.paths.charmState, "certificates", "certificate.json")))) {
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

/** Metrics schedule, nrpe checks, statistics and monitors data, machine options. */
async function upkeepAfter(deps: HookDeps, context: HookContext, outcome: Outcome): Promise<void> {
  const { upkeep } = await import("./upkeep.js");
  const result = await timeStep("upkeep", () => upkeep(deps, context, outcome.plan));
  if (result.blockedMessage !== undefined && outcome.status !== "blocked") {
    await deps.tools.statusSet("blocked", result.blockedMessage);
    const { noteBlockedStatus } = await import("../vip/maintainVip.js");
    await noteBlockedStatus(deps.paths, result.blockedMessage);
  }
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
