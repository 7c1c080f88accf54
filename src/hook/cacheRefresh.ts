// Which hooks refresh which part of the hook-tool cache: the events that can
// change a fact, and update-status, which checks the cache against Juju so
// one that went stale behind the charm's back (an operator's `juju exec`)
// converges within one interval. Pure.
import type { HookToolCache } from "../juju/hookToolCache.js";
import type { HookContext } from "./hookContext.js";

// Config changes only with `juju config`, a refresh or a new unit, and Juju
// then runs config-changed before any other hook; it also runs it when the
// machine's addresses change, and start follows a reboot. Those hooks read
// config, addresses and opened ports live again, and update-status too.
const FACT_HOOKS = new Set([
  "install",
  "config-changed",
  "upgrade-charm",
  "start",
  "update-status",
]);

/** The cache as the hook `context` may trust it. */
export function refreshedCache(cache: HookToolCache, context: HookContext): HookToolCache {
  const { hookName, relationId } = context;
  // A new unit's state directory owes nothing to an earlier life.
  if (hookName === "install") return { addresses: {}, unitBags: {}, appBags: {} };
  const readsFacts = FACT_HOOKS.has(hookName);
  // A relation that is going away is forgotten with it.
  const leaving =
    relationId !== undefined && /-relation-(departed|broken)$/.test(hookName)
      ? relationId
      : undefined;
  const without = (bags: HookToolCache["unitBags"]) =>
    Object.fromEntries(Object.entries(bags).filter(([id]) => id !== leaving));
  return {
    ...(!readsFacts && cache.config !== undefined && { config: cache.config }),
    addresses: readsFacts ? {} : cache.addresses,
    ...(!readsFacts && cache.openedPorts !== undefined && { openedPorts: cache.openedPorts }),
    unitBags: without(cache.unitBags),
    // Another unit may have led, and written the application bags, meanwhile.
    appBags: isAudit(context) || hookName === "leader-elected" ? {} : without(cache.appBags),
    ...(cache.status !== undefined && { status: cache.status }),
  };
}

/**
 * What a failed hook leaves of the cache it trusted. Juju discards the hook's
 * relation-set and port changes, but status-set reached the controller when
 * it was called: the status Juju shows is no longer known, and the next hook
 * sets its own whatever the cache said.
 */
export function afterFailedHook(trusted: HookToolCache): HookToolCache {
  return {
    ...(trusted.config !== undefined && { config: trusted.config }),
    addresses: trusted.addresses,
    ...(trusted.openedPorts !== undefined && { openedPorts: trusted.openedPorts }),
    unitBags: trusted.unitBags,
    appBags: trusted.appBags,
  };
}

/**
 * update-status reads the facts and this unit's bags back from Juju, and sets
 * the last status again even when nothing changed, so a status someone else
 * set does not stay.
 */
export function isAudit(context: HookContext): boolean {
  return context.hookName === "update-status";
}
