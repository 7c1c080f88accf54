// Where a subordinate on `statistics` finds the statistics page: on its own
// hook, that relation only; else every statistics relation.
import type { UpkeepPublication } from "../publication.js";
import { statisticsSettings } from "./statisticsSettings.js";

export async function publishStatistics(publication: UpkeepPublication): Promise<void> {
  const { tools, config, password, ownRelationId } = publication;
  const ids = ownRelationId ? [ownRelationId] : await tools.relationIds("statistics");
  for (const id of ids) await tools.relationSet(id, statisticsSettings(config, password));
}
