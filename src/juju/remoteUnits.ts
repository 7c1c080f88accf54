// The one place remote units' relation settings are read, so that caching
// them between hooks changes a single module.
import type { RemoteUnit } from "../inputs.js";
import type { HookTools } from "./hookTools.js";

export interface ReadOptions {
  /** A relation being torn down (`-relation-broken`): not read. */
  readonly brokenRelationId?: string;
  /** A unit leaving (`-relation-departed`): not read. */
  readonly departingUnit?: string;
}

export async function readRemoteUnits(
  tools: HookTools,
  endpoint: string,
  options: ReadOptions = {},
): Promise<RemoteUnit[]> {
  const relationIds = (await tools.relationIds(endpoint)).filter(
    (id) => id !== options.brokenRelationId,
  );
  const perRelation = await Promise.all(
    relationIds.map(async (relationId) => {
      const units = (await tools.relationList(relationId)).filter(
        (unit) => unit !== options.departingUnit,
      );
      return Promise.all(
        units.map(async (unit) => ({
          relationId,
          unit,
          settings: await tools.relationGet(relationId, unit),
        })),
      );
    }),
  );
  return perRelation.flat();
}
