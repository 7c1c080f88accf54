// The one place remote units' relation settings are read. Each remote unit
// fires its own hook whenever its settings change, so what the charm saw in
// earlier hooks stays true until then: a relation hook re-reads only the unit
// it is about plus the relation's membership, and the rest comes from a cache
// in the unit's state directory. Hook-tool calls per hook stay constant
// however many units a relation has.
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";

import { writeFileAtomic } from "../apply/atomicFile.js";
import type { RemoteUnit } from "../inputs.js";
import type { HookTools, RelationSettings } from "./hookTools.js";

/** The relation hook being run, if any. */
export interface RelationEvent {
  readonly endpoint: string;
  readonly relationId: string;
  readonly remoteUnit?: string;
  readonly departingUnit?: string;
  /** `-relation-broken`: the relation is going away. */
  readonly broken: boolean;
}

type UnitSettings = Record<string, RelationSettings>;
/** relation id -> unit -> settings */
type CachedRelations = Record<string, UnitSettings>;

const CACHE_VERSION = 1;

export class RelationData {
  private readonly idsByEndpoint = new Map<string, Promise<string[]>>();
  private readonly unitsByEndpoint = new Map<string, Promise<RemoteUnit[]>>();
  private cache?: Promise<CachedRelations | undefined>;
  private readonly seen: CachedRelations = {};

  constructor(
    private readonly tools: HookTools,
    private readonly options: {
      /** Where settings are remembered between hooks; absent: read everything live. */
      readonly cacheFile?: string;
      /** The relation event of this hook; absent: read everything live. */
      readonly event?: RelationEvent;
    } = {},
  ) {}

  relationIds(endpoint: string): Promise<string[]> {
    let ids = this.idsByEndpoint.get(endpoint);
    if (ids === undefined) {
      const { event } = this.options;
      ids = this.tools
        .relationIds(endpoint)
        .then((all) => all.filter((id) => !(event?.broken && id === event.relationId)));
      this.idsByEndpoint.set(endpoint, ids);
    }
    return ids;
  }

  units(endpoint: string): Promise<RemoteUnit[]> {
    let units = this.unitsByEndpoint.get(endpoint);
    if (units === undefined) {
      units = this.readUnits(endpoint);
      this.unitsByEndpoint.set(endpoint, units);
    }
    return units;
  }

  /** Remembers what this hook read, for the next hook. */
  async save(): Promise<void> {
    const file = this.options.cacheFile;
    if (file === undefined) return;
    const previous = (await this.loadCache()) ?? {};
    const readEndpoints = new Set(this.idsByEndpoint.keys());
    const kept = Object.fromEntries(
      Object.entries(previous).filter(([id]) => !readEndpoints.has(endpointOf(id))),
    );
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(
      file,
      JSON.stringify({ version: CACHE_VERSION, relations: { ...kept, ...this.seen } }),
      { mode: 0o600 },
    );
  }

  private async readUnits(endpoint: string): Promise<RemoteUnit[]> {
    const { event } = this.options;
    const cache = await this.loadCache();
    const result: RemoteUnit[] = [];
    for (const relationId of await this.relationIds(endpoint)) {
      const cached = cache?.[relationId];
      let settingsByUnit: UnitSettings;
      if (cached !== undefined && event !== undefined && relationId !== event.relationId) {
        settingsByUnit = cached;
      } else {
        const members = (await this.tools.relationList(relationId)).filter(
          (unit) => !(relationId === event?.relationId && unit === event.departingUnit),
        );
        settingsByUnit = {};
        for (const unit of members) {
          const known =
            event !== undefined && unit !== event.remoteUnit ? cached?.[unit] : undefined;
          settingsByUnit[unit] = known ?? (await this.tools.relationGet(relationId, unit));
        }
      }
      this.seen[relationId] = settingsByUnit;
      for (const [unit, settings] of Object.entries(settingsByUnit)) {
        result.push({ relationId, unit, settings });
      }
    }
    return result;
  }

  // A missing, unreadable or foreign cache means: read everything live.
  private loadCache(): Promise<CachedRelations | undefined> {
    const file = this.options.cacheFile;
    if (file === undefined || this.options.event === undefined) return Promise.resolve(undefined);
    this.cache ??= readFile(file, "utf8").then(
      (text) => {
        try {
          const document = JSON.parse(text) as { version?: unknown; relations?: unknown };
          return document.version === CACHE_VERSION && isCachedRelations(document.relations)
            ? document.relations
            : undefined;
        } catch {
          return undefined;
        }
      },
      () => undefined,
    );
    return this.cache;
  }
}

function endpointOf(relationId: string): string {
  return relationId.split(":")[0] ?? relationId;
}

function isCachedRelations(value: unknown): value is CachedRelations {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  return (
    isObject(value) &&
    Object.values(value).every(
      (units) =>
        isObject(units) &&
        Object.values(units).every(
          (settings) =>
            isObject(settings) && Object.values(settings).every((v) => typeof v === "string"),
        ),
    )
  );
}
