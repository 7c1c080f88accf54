// Hook tools that answer from the hook-tool cache what Juju would answer the
// same, and leave out writes that would change nothing: a relation join then
// costs no config-get, unit-get, opened-ports, or relation-set and status-set
// of unchanged values. Which hooks refresh what is hook/cacheRefresh.ts's
// decision. is-leader is always asked: leadership can be lost between hooks
// without a hook saying so, and the ingress URL must come from the leader.
import { mkdir } from "node:fs/promises";
import path from "node:path";

import { readIfExists, writeFileAtomic } from "../lib/atomicFile.js";
import { HookToolError } from "../lib/errors.js";
import {
  type AddressKey,
  type HookToolCache,
  bagUnchanged,
  parseHookToolCache,
  readBack,
  serializeHookToolCache,
  withPort,
} from "./hookToolCache.js";
import type { HookTools, LogLevel, RelationSettings, StatusName } from "./hookTools.js";

export class CachingHookTools implements HookTools {
  private statusWasSet = false;

  constructor(
    private readonly tools: HookTools,
    private current: HookToolCache,
    private readonly options: {
      /** update-status: status-set is never skipped (see `audit` and `finish`). */
      readonly audit: boolean;
    },
  ) {}

  /** What the hook leaves in the cache: to be saved only if it succeeds (Juju drops its writes otherwise). */
  get cache(): HookToolCache {
    return this.current;
  }

  /** Reads back from Juju the facts and what this unit's bags hold. */
  async audit(unitName: string): Promise<void> {
    const known = this.current.unitBags;
    // All at once: the hook waits for one hook tool, not one after the other.
    const [bags] = await Promise.all([
      Promise.all(
        Object.keys(known).map(async (relationId) => {
          try {
            const actual = await this.tools.relationGet(relationId, unitName);
            return [[relationId, readBack(known[relationId], actual)] as const];
          } catch (error) {
            // A relation gone without its hooks (none ran): nothing to remember of it.
            if (!(error instanceof HookToolError)) throw error;
            return [];
          }
        }),
      ),
      this.configGet(),
      this.unitGet("private-address"),
      this.unitGet("public-address"),
      this.openedPorts(),
    ]);
    this.current = { ...this.current, unitBags: Object.fromEntries(bags.flat()) };
  }

  /** The end of a successful hook: an audit sets the last status again if nothing else did. */
  async finish(): Promise<void> {
    const { status } = this.current;
    if (this.options.audit && !this.statusWasSet && status !== undefined) {
      await this.tools.statusSet(status.status, status.message);
    }
  }

  async configGet(): Promise<Record<string, unknown>> {
    const config = this.current.config ?? (await this.tools.configGet());
    this.current = { ...this.current, config };
    return { ...config };
  }

  async unitGet(key: AddressKey): Promise<string> {
    const address = this.current.addresses[key] ?? (await this.tools.unitGet(key));
    this.current = { ...this.current, addresses: { ...this.current.addresses, [key]: address } };
    return address;
  }

  async openedPorts(): Promise<string[]> {
    const openedPorts = this.current.openedPorts ?? (await this.tools.openedPorts());
    this.current = { ...this.current, openedPorts };
    return [...openedPorts];
  }

  async openPort(port: number, protocol: "tcp" | "udp" = "tcp"): Promise<void> {
    await this.tools.openPort(port, protocol);
    this.updatePorts(port, protocol, true);
  }

  async closePort(port: number, protocol: "tcp" | "udp" = "tcp"): Promise<void> {
    await this.tools.closePort(port, protocol);
    this.updatePorts(port, protocol, false);
  }

  private updatePorts(port: number, protocol: "tcp" | "udp", open: boolean): void {
    const { openedPorts, ...rest } = this.current;
    // The charm only ever opens TCP ports; anything else is read live next time.
    this.current =
      openedPorts !== undefined && protocol === "tcp"
        ? { ...rest, openedPorts: withPort(openedPorts, port, open) }
        : rest;
  }

  async relationSet(relationId: string, settings: RelationSettings): Promise<void> {
    const last = this.current.unitBags[relationId];
    if (bagUnchanged(last, settings)) return;
    await this.tools.relationSet(relationId, settings);
    this.current = {
      ...this.current,
      unitBags: { ...this.current.unitBags, [relationId]: { ...last, ...settings } },
    };
  }

  async relationSetApp(relationId: string, settings: RelationSettings): Promise<void> {
    const last = this.current.appBags[relationId];
    if (bagUnchanged(last, settings)) return;
    await this.tools.relationSetApp(relationId, settings);
    this.current = {
      ...this.current,
      appBags: { ...this.current.appBags, [relationId]: { ...last, ...settings } },
    };
  }

  async isLeader(): Promise<boolean> {
    const leader = await this.tools.isLeader();
    // Not leading now: whatever this unit wrote as leader may have been overwritten since.
    if (!leader) this.current = { ...this.current, appBags: {} };
    return leader;
  }

  async statusSet(status: StatusName, message: string): Promise<void> {
    this.statusWasSet = true;
    const last = this.current.status;
    if (!this.options.audit && last?.status === status && last.message === message) {
      return;
    }
    await this.tools.statusSet(status, message);
    this.current = { ...this.current, status: { status, message } };
  }

  // Everything else is asked live.
  relationIds(endpoint: string): Promise<string[]> {
    return this.tools.relationIds(endpoint);
  }
  relationList(relationId: string): Promise<string[]> {
    return this.tools.relationList(relationId);
  }
  relationGet(relationId: string, unit: string): Promise<RelationSettings> {
    return this.tools.relationGet(relationId, unit);
  }
  relationApp(relationId: string): Promise<string> {
    return this.tools.relationApp(relationId);
  }
  relationGetApp(relationId: string, app: string): Promise<RelationSettings> {
    return this.tools.relationGetApp(relationId, app);
  }
  networkGet(binding: string): Promise<unknown> {
    return this.tools.networkGet(binding);
  }
  log(level: LogLevel, message: string): Promise<void> {
    return this.tools.log(level, message);
  }
  actionGet(): Promise<Record<string, unknown>> {
    return this.tools.actionGet();
  }
  actionSet(results: Readonly<Record<string, string>>): Promise<void> {
    return this.tools.actionSet(results);
  }
  actionFail(message: string): Promise<void> {
    return this.tools.actionFail(message);
  }
}

/** A missing, unreadable or foreign file is an empty cache: everything is read live. */
export async function loadHookToolCache(file: string): Promise<HookToolCache> {
  return parseHookToolCache(await readIfExists(file).catch(() => undefined));
}

export async function saveHookToolCache(file: string, cache: HookToolCache): Promise<void> {
  const text = serializeHookToolCache(cache);
  // A hook that learnt nothing new leaves the file as it is: no write, no fsync.
  if ((await readIfExists(file).catch(() => undefined)) === text) return;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // The config may hold secrets (ssl_key, monitoring_password).
  await writeFileAtomic(file, text, { mode: 0o600 });
}
