// haproxy may reject a configuration because of one related unit's data that
// passed the charm's own field checks (an option haproxy does not know, say).
// Rather than let that unit hold back every later change, find the units
// whose data haproxy cannot take and serve the others without them.
import { type ApplyEnvironment, checkPlan } from "../apply/applyPlan.js";
import { ConfigError, ServiceConflictError, ValidationError } from "../lib/errors.js";
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs, RemoteUnit } from "../juju/hookInputs.js";
import type { SkippedUnit } from "../relations/reverseproxy/collectServices.js";
import { planConfiguration } from "../plan/planConfiguration.js";
import { renderHaproxyConfig } from "../render/renderHaproxyConfig.js";

/** haproxy's complaint about `inputs`, or undefined when it accepts them. */
export type Probe = (inputs: HookInputs) => Promise<string | undefined>;

/**
 * Plans and renders `inputs`, then asks `haproxy -c` about the result with its
 * files in place; everything is left as it was and haproxy is not touched.
 */
export function haproxyProbe(environment: ApplyEnvironment, config: CharmConfig): Probe {
  return async (inputs) => {
    try {
      const plan = planConfiguration(config, inputs, environment.paths);
      await checkPlan(
        { haproxyCfg: renderHaproxyConfig(plan.config), files: plan.files },
        environment,
      );
      return undefined;
    } catch (error) {
      if (error instanceof ValidationError) return error.firstError;
      if (error instanceof ConfigError || error instanceof ServiceConflictError) {
        return error.message;
      }
      throw error;
    }
  };
}

export interface Isolation {
  /** The inputs without the rejected units. */
  readonly inputs: HookInputs;
  readonly rejected: readonly SkippedUnit[];
}

// Each probe is a `haproxy -c` (tens of milliseconds at a thousand servers):
// past this many, a group that still fails is left out whole.
export const PROBE_BUDGET = 64;

/**
 * The units to leave out so that haproxy accepts the rest, or undefined when
 * it rejects the configuration even without any related unit (the operator's
 * config is at fault, and no unit should be dropped for it). `suspects`, the
 * units left out last time, are tried last: while they stay as they were, the
 * others are accepted in one check.
 */
export async function isolateRejectedUnits(
  inputs: HookInputs,
  probe: Probe,
  suspects: ReadonlySet<string> = new Set(),
): Promise<Isolation | undefined> {
  const withUnits = (units: readonly RemoteUnit[]) => ({ ...inputs, reverseproxy: units });
  const culprits = await findCulprits(inputs.reverseproxy, (units) => probe(withUnits(units)), {
    suspect: (unit) => suspects.has(unit.unit),
  });
  if (culprits === undefined || culprits.length === 0) return undefined;
  const left = new Set(culprits.map((culprit) => culprit.item));
  return {
    inputs: withUnits(inputs.reverseproxy.filter((unit) => !left.has(unit))),
    rejected: culprits.map(({ item, complaint, narrowed }) => ({
      relationId: item.relationId,
      unit: item.unit,
      invalid: true,
      reason:
        `haproxy rejects the configuration its data makes` +
        `${narrowed ? "" : " (with others of its group, not told apart)"}: ${complaint}`,
    })),
  };
}

export interface Culprit<T> {
  readonly item: T;
  /** haproxy's complaint when the item was added. */
  readonly complaint: string;
  /** False when the budget ran out and the item was left out with its group. */
  readonly narrowed: boolean;
}

export interface SearchOptions<T> {
  /** Checks allowed before a failing group is left out whole. */
  readonly budget?: number;
  /** Items likely to be rejected: added after all the others. */
  readonly suspect?: (item: T) => boolean;
}

/**
 * Bisects `items` for those `check` rejects: items are added group by group
 * to what is already accepted; a failing group is split until single items
 * remain. Costs about 2·k·log2(n) checks for k culprits among n items, and
 * 2 + 2·k·log2(s) when the culprits are among s suspects.
 * Undefined when `check` rejects even the empty set.
 */
export async function findCulprits<T>(
  items: readonly T[],
  check: (kept: readonly T[]) => Promise<string | undefined>,
  { budget = PROBE_BUDGET, suspect = () => false }: SearchOptions<T> = {},
): Promise<Culprit<T>[] | undefined> {
  let probes = 0;
  const checkCounted = (kept: readonly T[]) => {
    probes += 1;
    return check(kept);
  };
  if ((await checkCounted([])) !== undefined) return undefined;

  const culprits: Culprit<T>[] = [];
  const accepted: T[] = [];
  const narrow = async (group: readonly T[]): Promise<void> => {
    const complaint = await checkCounted([...accepted, ...group]);
    if (complaint === undefined) {
      accepted.push(...group);
      return;
    }
    if (group.length === 1 || probes >= budget) {
      const narrowed = group.length === 1;
      culprits.push(...group.map((item) => ({ item, complaint, narrowed })));
      return;
    }
    const middle = Math.ceil(group.length / 2);
    await narrow(group.slice(0, middle));
    await narrow(group.slice(middle));
  };
  const suspects = items.filter(suspect);
  const others = items.filter((item) => !suspect(item));
  for (const group of [others, suspects]) if (group.length > 0) await narrow(group);
  return culprits;
}
