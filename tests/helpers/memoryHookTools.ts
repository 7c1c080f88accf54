// An in-memory stand-in for a Juju unit agent's hook tools, for tests of the
// hook layer: it holds config and relation data and records what the charm
// sets. (The packed charm is tested against real executables in tests/e2e.)
import type {
  HookTools,
  LogLevel,
  RelationSettings,
  StatusName,
} from "../../src/juju/hookTools.js";

export class MemoryHookTools implements HookTools {
  config: Record<string, unknown> = {};
  /** relation id -> endpoint */
  endpoints = new Map<string, string>();
  /** relation id -> remote unit -> settings */
  remote = new Map<string, Map<string, Record<string, string>>>();
  /** relation id -> what this unit set */
  local = new Map<string, Record<string, string>>();
  /** relation id -> remote application name and its settings */
  remoteApps = new Map<string, { app: string; settings: Record<string, string> }>();
  /** relation id -> what this application (the leader) set */
  localApp = new Map<string, Record<string, string>>();
  status: { status: StatusName; message: string } | undefined;
  logs: { level: LogLevel; message: string }[] = [];
  opened = new Set<number>();
  calls = 0;
  leader = true;
  actionParams: Record<string, unknown> = {};
  actionResults: Record<string, string> = {};
  actionFailure: string | undefined;
  privateAddress = "127.0.0.1";
  publicAddress = "203.0.113.10";

  addUnit(relationId: string, unit: string, settings: Record<string, string>): void {
    const endpoint = relationId.split(":")[0] as string;
    this.endpoints.set(relationId, endpoint);
    const units = this.remote.get(relationId) ?? new Map();
    units.set(unit, settings);
    this.remote.set(relationId, units);
  }

  setRemoteApp(relationId: string, app: string, settings: Record<string, string>): void {
    this.endpoints.set(relationId, relationId.split(":")[0] as string);
    this.remoteApps.set(relationId, { app, settings });
  }

  removeUnit(relationId: string, unit: string): void {
    this.remote.get(relationId)?.delete(unit);
  }

  async configGet(): Promise<Record<string, unknown>> {
    this.calls++;
    return { ...this.config };
  }
  async relationIds(endpoint: string): Promise<string[]> {
    this.calls++;
    return [...this.endpoints].filter(([, e]) => e === endpoint).map(([id]) => id);
  }
  async relationList(relationId: string): Promise<string[]> {
    this.calls++;
    return [...(this.remote.get(relationId)?.keys() ?? [])];
  }
  async relationGet(relationId: string, unit: string): Promise<RelationSettings> {
    this.calls++;
    // A unit that is not a remote one is this unit: its own settings, as Juju answers.
    const remote = this.remote.get(relationId)?.get(unit);
    return { ...(remote ?? (unit.startsWith("haproxy/") ? this.local.get(relationId) : {}) ?? {}) };
  }
  async relationSet(relationId: string, settings: Readonly<Record<string, string>>): Promise<void> {
    this.calls++;
    const merged = { ...(this.local.get(relationId) ?? {}), ...settings };
    // An empty value deletes the key, as in Juju.
    this.local.set(
      relationId,
      Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== "")),
    );
  }
  async relationApp(relationId: string): Promise<string> {
    this.calls++;
    const known = this.remoteApps.get(relationId)?.app;
    const [unit] = this.remote.get(relationId)?.keys() ?? [];
    return known ?? unit?.split("/")[0] ?? "unknown";
  }
  async relationGetApp(relationId: string): Promise<RelationSettings> {
    this.calls++;
    return { ...(this.remoteApps.get(relationId)?.settings ?? {}) };
  }
  async relationSetApp(
    relationId: string,
    settings: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.calls++;
    if (!this.leader) throw new Error("cannot write relation settings");
    const merged = { ...(this.localApp.get(relationId) ?? {}), ...settings };
    this.localApp.set(
      relationId,
      Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== "")),
    );
  }
  async unitGet(key: "private-address" | "public-address"): Promise<string> {
    this.calls++;
    return key === "private-address" ? this.privateAddress : this.publicAddress;
  }
  async networkGet(): Promise<unknown> {
    this.calls++;
    return {};
  }
  async openPort(port: number): Promise<void> {
    this.calls++;
    this.opened.add(port);
  }
  async closePort(port: number): Promise<void> {
    this.calls++;
    this.opened.delete(port);
  }
  async openedPorts(): Promise<string[]> {
    this.calls++;
    return [...this.opened].map((port) => `${port}/tcp`);
  }
  async statusSet(status: StatusName, message: string): Promise<void> {
    this.calls++;
    this.status = { status, message };
  }
  async log(level: LogLevel, message: string): Promise<void> {
    this.calls++;
    this.logs.push({ level, message });
  }
  async isLeader(): Promise<boolean> {
    this.calls++;
    return this.leader;
  }
  async actionGet(): Promise<Record<string, unknown>> {
    this.calls++;
    return { ...this.actionParams };
  }
  async actionSet(results: Readonly<Record<string, string>>): Promise<void> {
    this.calls++;
    Object.assign(this.actionResults, results);
  }
  async actionFail(message: string): Promise<void> {
    this.calls++;
    this.actionFailure = message;
  }
}

/** One call of a hook tool: on a unit, a process with these as its arguments and stdin. */
export interface HookToolCall {
  readonly tool: string;
  readonly args: readonly unknown[];
}

/** The same hook tools, writing down each call with its arguments in `calls`. */
export function recordingCalls(memory: MemoryHookTools): {
  tools: HookTools;
  calls: HookToolCall[];
} {
  const calls: HookToolCall[] = [];
  const tools = new Proxy(memory, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push({ tool: String(property), args });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { tools, calls };
}
