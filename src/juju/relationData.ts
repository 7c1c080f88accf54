// The one place remote units' relation settings are read. Each remote unit
// fires its own hook whenever its settings change, so what the charm saw in
// earlier hooks stays true until then: a relation hook re-reads only the unit
// it is about plus the relation's membership, and the rest comes from a cache
// in the unit's state directory. Hook-tool calls per hook stay constant
// however many units a relation has. The same holds for the remote
// applications' bags and for relation ids: only a hook of an endpoint changes
// that endpoint's relations, and a relation the cache already lists is not new.
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";

import { writeFileAtomic } from "../lib/atomicFile.js";
import type { RemoteApp, RemoteUnit } from "./hookInputs.js";
import type { HookTools, RelationSettings } from "./hookTools.js";

/** The relation hook being run, if any. */
export interface RelationEvent {
  readonly endpoint: string;
  readonly relationId: string;
  readonly remoteUnit?: string;
  readonly departingUnit?: string;
  /** JUJU_REMOTE_APP: the application on the other side. */
  readonly remoteApp?: string;
  /** `-relation-broken`: the relation is going away. */
  readonly broken: boolean;
}

type UnitSettings = Record<string, RelationSettings>;
/** relation id -> unit -> settings */
type CachedRelations = Record<string, UnitSettings>;
interface AppSettings {
  readonly app: string;
  readonly settings: RelationSettings;
}

interface CacheDocument {
  readonly relations: CachedRelations;
  /** relation id -> the remote application and its bag */
  readonly apps: Record<string, AppSettings>;
  /** endpoint -> relation ids */
  readonly ids: Record<string, string[]>;
}

const CACHE_VERSION = 2;

export class RelationData {
  private readonly idsByEndpoint = new Map<string, Promise<string[]>>();
  private readonly unitsByEndpoint = new Map<string, Promise<RemoteUnit[]>>();
  private readonly appsByEndpoint = new Map<string, Promise<RemoteApp[]>>();
  private cache?: Promise<CacheDocument | undefined>;
  private readonly seen: CachedRelations = {};
  private readonly seenApps: Record<string, AppSettings> = {};
  private readonly seenIds: Record<string, string[]> = {};

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
      ids = this.readIds(endpoint).then((read) => (this.seenIds[endpoint] = read));
      this.idsByEndpoint.set(endpoint, ids);
    }
    return ids;
  }

  /** The remote application of each relation on `endpoint`, with its bag. */
  apps(endpoint: string): Promise<RemoteApp[]> {
    let apps = this.appsByEndpoint.get(endpoint);
    if (apps === undefined) {
      apps = this.readApps(endpoint);
      this.appsByEndpoint.set(endpoint, apps);
    }
    return apps;
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
    const previous = await this.loadCache();
    // Ids read, settled or not: a failed read of one endpoint must not keep its stale entries.
    await Promise.allSettled([...this.idsByEndpoint.values()]);
    const readEndpoints = new Set(this.idsByEndpoint.keys());
    const unread = <T>(entries: Record<string, T> | undefined) =>
      Object.fromEntries(
        Object.entries(entries ?? {}).filter(([id]) => !readEndpoints.has(endpointOf(id))),
      );
    const document: CacheDocument = {
      relations: { ...unread(previous?.relations), ...this.seen },
      apps: { ...unread(previous?.apps), ...this.seenApps },
      ids: {
        ...Object.fromEntries(
          Object.entries(previous?.ids ?? {}).filter(([endpoint]) => !readEndpoints.has(endpoint)),
        ),
        ...this.seenIds,
      },
    };
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, JSON.stringify({ version: CACHE_VERSION, ...document }), {
      mode: 0o600,
    });
  }

  private async readIds(endpoint: string): Promise<string[]> {
    const { event } = this.options;
    const cached = (await this.loadCache())?.ids[endpoint];
    if (cached !== undefined && event !== undefined && event.endpoint !== endpoint) return cached;
    // The event's own endpoint: a relation that is cached already is not new, and
    // any relation created since has its own hooks to come (it is not cached, so
    // they read live); only -broken removes one.
    if (cached?.includes(event?.relationId ?? "") && event?.broken === false) return cached;
    const all = await this.tools.relationIds(endpoint);
    return all.filter((id) => !(event?.broken && id === event.relationId));
  }

  private async readApps(endpoint: string): Promise<RemoteApp[]> {
    const { event } = this.options;
    const cache = await this.loadCache();
    const result: RemoteApp[] = [];
    for (const relationId of await this.relationIds(endpoint)) {
      const cached = cache?.apps[relationId];
      let entry: AppSettings;
      if (cached !== undefined && event !== undefined && relationId !== event.relationId) {
        entry = cached;
      } else {
        const app =
          cached?.app ??
          (relationId === event?.relationId ? event.remoteApp : undefined) ??
          (await this.tools.relationApp(relationId));
        entry = { app, settings: await this.tools.relationGetApp(relationId, app) };
      }
      this.seenApps[relationId] = entry;
      result.push({ relationId, app: entry.app, settings: entry.settings });
    }
    return result;
  }

  private async readUnits(endpoint: string): Promise<RemoteUnit[]> {
    const { event } = this.options;
    const cache = await this.loadCache();
    const result: RemoteUnit[] = [];
    for (const relationId of await this.relationIds(endpoint)) {
      const cached = cache?.relations[relationId];
      let settingsByUnit: UnitSettings;
      if (cached !== undefined && event !== undefined && relationId !== event.relationId) {
        settingsByUnit = cached;
      } else {
        const early = this.readRemoteUnitEarly(relationId);
        const members = (await this.tools.relationList(relationId)).filter(
          (unit) => !(relationId === event?.relationId && unit === event.departingUnit),
        );
        settingsByUnit = {};
        for (const unit of members) {
          const known =
            event !== undefined && unit !== event.remoteUnit ? cached?.[unit] : undefined;
          settingsByUnit[unit] =
            known ??
            (unit === early?.unit ? await early.settings : undefined) ??
            (await this.tools.relationGet(relationId, unit));
        }
      }
      this.seen[relationId] = settingsByUnit;
      for (const [unit, settings] of Object.entries(settingsByUnit)) {
        result.push({ relationId, unit, settings });
      }
    }
    return result;
  }

  /**
   * The settings of the unit a joined or changed hook is about, asked for
   * while the membership is (a member then, as Juju guarantees): a join waits
   * for one hook tool instead of two, with the same calls.
   */
  private readRemoteUnitEarly(
    relationId: string,
  ): { unit: string; settings: Promise<RelationSettings> } | undefined {
    const { event } = this.options;
    const unit = event?.remoteUnit;
    if (event === undefined || unit === undefined || relationId !== event.relationId) {
      return undefined;
    }
    if (event.broken || event.departingUnit !== undefined) return undefined;
    const settings = this.tools.relationGet(relationId, unit);
    // Awaited only if the unit is a member; a failure then fails the hook as before.
    settings.catch(() => undefined);
    return { unit, settings };
  }

  // A missing, unreadable or foreign cache means: read everything live.
  private loadCache(): Promise<CacheDocument | undefined> {
    const file = this.options.cacheFile;
    if (file === undefined || this.options.event === undefined) return Promise.resolve(undefined);
    this.cache ??= readFile(file, "utf8").then(
      (text) => {
        try {
          const document = JSON.parse(text) as Record<string, unknown>;
          return document.version === CACHE_VERSION && isCacheDocument(document)
            ? document
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

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const isSettings = (v: unknown): v is RelationSettings =>
  isObject(v) && Object.values(v).every((value) => typeof value === "string");

function isCacheDocument(value: unknown): value is CacheDocument {
  if (!isObject(value)) return false;
  const { relations, apps, ids } = value;
  return (
    isObject(relations) &&
    Object.values(relations).every(
      (units) => isObject(units) && Object.values(units).every(isSettings),
    ) &&
    isObject(apps) &&
    Object.values(apps).every(
      (entry) => isObject(entry) && typeof entry.app === "string" && isSettings(entry.settings),
    ) &&
    isObject(ids) &&
    Object.values(ids).every(
      (list) => Array.isArray(list) && list.every((id) => typeof id === "string"),
    )
  );
}
