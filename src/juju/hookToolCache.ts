// What earlier hooks learnt from Juju and told it: the config, the unit's
// addresses, the opened ports, what this unit (and, as leader, its
// application) last wrote in each relation bag, and the last status. Pure:
// the document, its defensive parsing and the rules that keep it true. It is
// only ever a hint: anything missing or malformed is read (or set) live.
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

export function serializeHookToolCache(cache: HookToolCache): string {
  return JSON.stringify({ version: VERSION, ...cache });
}

/** Any field that is not exactly what this version wrote is dropped, never trusted. */
export function parseHookToolCache(text: string | undefined): HookToolCache {
  let document: unknown;
  try {
    document = JSON.parse(text ?? "");
  } catch {
    return emptyHookToolCache;
  }
  if (!isObject(document) || document.version !== VERSION) return emptyHookToolCache;
  const { config, addresses, openedPorts, unitBags, appBags, status } = document;
  return {
    ...(isObject(config) && { config }),
    addresses: isObject(addresses)
      ? Object.fromEntries(
          (["private-address", "public-address"] as const).flatMap((key) =>
            typeof addresses[key] === "string" ? [[key, addresses[key]]] : [],
          ),
        )
      : {},
    ...(isStringList(openedPorts) && { openedPorts }),
    unitBags: bagsOf(unitBags),
    appBags: bagsOf(appBags),
    ...(isObject(status) &&
      typeof status.status === "string" &&
      STATUSES.includes(status.status) &&
      typeof status.message === "string" && {
        status: { status: status.status as StatusName, message: status.message },
      }),
  };
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

/** What `opened-ports` lists after opening (or closing) one TCP port. */
export function withPort(opened: readonly string[], port: number, open: boolean): string[] {
  const entry = `${port}/tcp`;
  const others = opened.filter((item) => item !== entry);
  return open ? [...others, entry] : others;
}

function bagsOf(value: unknown): Record<string, RelationSettings> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).filter(([, bag]) => isSettings(bag))) as Record<
    string,
    RelationSettings
  >;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const isSettings = (v: unknown): v is RelationSettings =>
  isObject(v) && Object.values(v).every((value) => typeof value === "string");

const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((item) => typeof item === "string");
