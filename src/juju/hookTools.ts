// The typed face of Juju's hook tools. The implementation that runs them lives
// in juju/execaHookTools.ts; the core only ever receives this interface.

export type StatusName = "maintenance" | "blocked" | "waiting" | "active";
export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR";

/** A relation unit's settings: Juju hands them over as strings. */
export type RelationSettings = Readonly<Record<string, string>>;

export interface HookTools {
  configGet(): Promise<Record<string, unknown>>;
  relationIds(endpoint: string): Promise<string[]>;
  relationList(relationId: string): Promise<string[]>;
  relationGet(relationId: string, unit: string): Promise<RelationSettings>;
  /** Sets keys on this unit's side; an empty string deletes a key. */
  relationSet(relationId: string, settings: Readonly<Record<string, string>>): Promise<void>;
  /** The remote application's name (`relation-list --app`). */
  relationApp(relationId: string): Promise<string>;
  /** The remote application's settings (`relation-get --app`). */
  relationGetApp(relationId: string, app: string): Promise<RelationSettings>;
  /** Sets keys in this application's bag: the leader only. An empty string deletes a key. */
  relationSetApp(relationId: string, settings: Readonly<Record<string, string>>): Promise<void>;
  unitGet(key: "private-address" | "public-address"): Promise<string>;
  networkGet(binding: string): Promise<unknown>;
  openPort(port: number, protocol?: "tcp" | "udp"): Promise<void>;
  closePort(port: number, protocol?: "tcp" | "udp"): Promise<void>;
  /** Opened ports as Juju lists them, e.g. `80/tcp`. */
  openedPorts(): Promise<string[]>;
  statusSet(status: StatusName, message: string): Promise<void>;
  log(level: LogLevel, message: string): Promise<void>;
  isLeader(): Promise<boolean>;
  /** Inside an action: its parameters (`action-get --format=json`). */
  actionGet(): Promise<Record<string, unknown>>;
  /** Inside an action: adds results. Values travel as arguments: never put a secret here. */
  actionSet(results: Readonly<Record<string, string>>): Promise<void>;
  /** Inside an action: marks it failed with this message. */
  actionFail(message: string): Promise<void>;
}
