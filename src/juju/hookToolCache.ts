// What earlier hooks learnt from Juju and told it: the config, the unit's
// addresses, the opened ports, what this unit (and, as leader, its
// application) last wrote in each relation bag, and the last status. Pure:
// the document, its defensive parsing and the rules that keep it true. It is
// only ever a hint: a file missing or malformed is no cache, and what it
// held is read (or set) live again.
import type { RelationSettings, StatusName } from "./hookTools.js";

export type AddressKey = "private-address" | "public-address";

export interface HookToolCache {
  readonly config?: Readonly<Record<string, unknown>>;
  readonly addresses: Readonly<Partial<Record<AddressKey, string>>>;
  /** As `opened-ports` lists them (`80/tcp`), kept up to date with what the charm opens. */
  readonly openedPorts?: readonly string[];
  /** relation id -> what this unit last set in its bag ("" for a deleted key). */
  readonly unitBags: Readonly<Record<string, RelationSettings>>;
  /** relation id -> what this application last set, while this unit was leader. */
  readonly appBags: Readonly<Record<string, RelationSettings>>;
  readonly status?: { readonly status: StatusName; readonly message: string };
}

export const emptyHookToolCache: HookToolCache = { addresses: {}, unitBags: {}, appBags: {} };

const VERSION = 1;
const STATUSES: readonly string[] = ["maintenance", "blocked", "waiting", "active"];
const ADDRESS_KEYS: readonly string[] = ["private-address", "public-address"];

export function serializeHookToolCache(cache: HookToolCache): string {
  return JSON.stringify({ version: VERSION, ...cache });
}

/** A file that is not exactly what this version writes is no cache at all. */
export function parseHookToolCache(text: string | undefined): HookToolCache {
  let document: unknown;
  try {
    document = JSON.parse(text ?? "");
  } catch {
    return emptyHookToolCache;
  }
  if (!isObject(document) || document.version !== VERSION) return emptyHookToolCache;
  const { config, addresses, openedPorts, unitBags, appBags, status } = document;
  const valid =
    (config === undefined || isObject(config)) &&
    isObject(addresses) &&
    Object.entries(addresses).every(
      ([key, value]) => ADDRESS_KEYS.includes(key) && typeof value === "string",
    ) &&
    (openedPorts === undefined || isStringList(openedPorts)) &&
    isBags(unitBags) &&
    isBags(appBags) &&
    (status === undefined ||
      (isObject(status) &&
        typeof status.status === "string" &&
        STATUSES.includes(status.status) &&
        typeof status.message === "string"));
  if (!valid) return emptyHookToolCache;
  return {
    ...(config !== undefined && { config }),
    addresses,
    ...(openedPorts !== undefined && { openedPorts }),
    unitBags,
    appBags,
    ...(status !== undefined && { status: status as HookToolCache["status"] }),
  } as HookToolCache;
}

/** Whether setting `settings` would leave a bag that holds `last` as it is. */
export function bagUnchanged(
  last: RelationSettings | undefined,
  settings: RelationSettings,
): boolean {
  return (
    last !== undefined && Object.entries(settings).every(([key, value]) => last[key] === value)
  );
}

/**
 * What a bag read back from Juju says in the cache's terms: a key the cache
 * knew that the bag no longer holds was deleted, which the cache writes "".
 */
export function readBack(
  last: RelationSettings | undefined,
  actual: RelationSettings,
): RelationSettings {
  const deleted = Object.keys(last ?? {}).filter((key) => !(key in actual));
  return { ...actual, ...Object.fromEntries(deleted.map((key) => [key, ""])) };
}

/** What `opened-ports` lists after opening (or closing) one TCP port. */
export function withPort(opened: readonly string[], port: number, open: boolean): string[] {
  const entry = `${port}/tcp`;
  const others = opened.filter((item) => item !== entry);
  return open ? [...others, entry] : others;
}

const isBags = (v: unknown): v is Record<string, RelationSettings> =>
  isObject(v) && Object.values(v).every(isSettings);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const isSettings = (v: unknown): v is RelationSettings =>
  isObject(v) && Object.values(v).every((value) => typeof value === "string");

const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((item) => typeof item === "string");
