// The only module that runs Juju's hook tools (named after execa, which once
// ran them). Every call goes through one runner that counts it and turns any
// failure into a HookToolError; every tool that can answer in JSON is asked to.
import { HookToolError } from "../lib/errors.js";
import { runProcess } from "../lib/runProcess.js";
import { timeStep } from "../lib/stepTimer.js";
import type { HookTools, LogLevel, RelationSettings, StatusName } from "./hookTools.js";

export interface ExecaHookToolsOptions {
  /** Extra environment for the tools, e.g. a PATH that finds stand-ins in tests. */
  readonly env?: Readonly<Record<string, string>>;
}

export class ExecaHookTools implements HookTools {
  private calls = 0;

  constructor(private readonly options: ExecaHookToolsOptions = {}) {}

  /** How many hook tool processes this instance has started. */
  get callCount(): number {
    return this.calls;
  }

  async configGet(): Promise<Record<string, unknown>> {
    const command = ["config-get", "--format=json"];
    const parsed = parseJson(command, await this.run(command));
    if (parsed === null) return {};
    if (!isPlainObject(parsed)) throw unexpectedOutput(command, "a JSON object", parsed);
    return parsed;
  }

  async relationIds(endpoint: string): Promise<string[]> {
    return this.stringList(["relation-ids", "--format=json", endpoint]);
  }

  async relationList(relationId: string): Promise<string[]> {
    return this.stringList(["relation-list", "-r", relationId, "--format=json"]);
  }

  async relationGet(relationId: string, unit: string): Promise<RelationSettings> {
    return this.settings(["relation-get", "-r", relationId, "--format=json", "-", unit]);
  }

  async relationApp(relationId: string): Promise<string> {
    const command = ["relation-list", "-r", relationId, "--app", "--format=json"];
    const parsed = parseJson(command, await this.run(command));
    if (typeof parsed !== "string") throw unexpectedOutput(command, "a JSON string", parsed);
    return parsed;
  }

  async relationGetApp(relationId: string, app: string): Promise<RelationSettings> {
    return this.settings(["relation-get", "-r", relationId, "--app", "--format=json", "-", app]);
  }

  private async settings(command: readonly string[]): Promise<RelationSettings> {
    const parsed = parseJson(command, await this.run(command));
    if (parsed === null) return {};
    if (!isPlainObject(parsed)) throw unexpectedOutput(command, "a JSON object", parsed);
    const settings: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
      // Juju only stores strings; anything else is coerced rather than trusted.
      if (value === null || value === undefined) continue;
      settings[key] = typeof value === "string" ? value : coerceToString(value);
    }
    return settings;
  }

  async relationSet(relationId: string, settings: Readonly<Record<string, string>>): Promise<void> {
    await this.setSettings(["relation-set", "-r", relationId, "--file", "-"], settings);
  }

  async relationSetApp(
    relationId: string,
    settings: Readonly<Record<string, string>>,
  ): Promise<void> {
    await this.setSettings(["relation-set", "-r", relationId, "--app", "--file", "-"], settings);
  }

  private async setSettings(
    command: readonly string[],
    settings: Readonly<Record<string, string>>,
  ): Promise<void> {
    if (Object.keys(settings).length === 0) return;
    // A YAML map on stdin rather than key=value arguments: multi-line values
    // (a services YAML, a CSR) survive intact and nothing shows up in the process list.
    const { dump } = await import("js-yaml"); // loaded only by hooks that publish
    const document = dump({ ...settings }, { lineWidth: -1, noRefs: true, sortKeys: true });
    await this.run(command, document);
  }

  async unitGet(key: "private-address" | "public-address"): Promise<string> {
    const command = ["unit-get", "--format=json", key];
    const parsed = parseJson(command, await this.run(command));
    if (parsed === null) return "";
    if (typeof parsed !== "string") throw unexpectedOutput(command, "a JSON string", parsed);
    return parsed;
  }

  async networkGet(binding: string): Promise<unknown> {
    const command = ["network-get", "--format=json", binding];
    return parseJson(command, await this.run(command));
  }

  async openPort(port: number, protocol: "tcp" | "udp" = "tcp"): Promise<void> {
    await this.run(["open-port", `${port}/${protocol}`]);
  }

  async closePort(port: number, protocol: "tcp" | "udp" = "tcp"): Promise<void> {
    await this.run(["close-port", `${port}/${protocol}`]);
  }

  async openedPorts(): Promise<string[]> {
    return this.stringList(["opened-ports", "--format=json"]);
  }

  async statusSet(status: StatusName, message: string): Promise<void> {
    // `--` ends option parsing, so a message starting with `-` stays a message.
    await this.run(["status-set", status, "--", message]);
  }

  async log(level: LogLevel, message: string): Promise<void> {
    await this.run(["juju-log", "-l", level, "--", message]);
  }

  async isLeader(): Promise<boolean> {
    const command = ["is-leader", "--format=json"];
    const parsed = parseJson(command, await this.run(command));
    if (typeof parsed !== "boolean") throw unexpectedOutput(command, "true or false", parsed);
    return parsed;
  }

  async actionGet(): Promise<Record<string, unknown>> {
    const command = ["action-get", "--format=json"];
    const parsed = parseJson(command, await this.run(command));
    if (parsed === null) return {};
    if (!isPlainObject(parsed)) throw unexpectedOutput(command, "a JSON object", parsed);
    return parsed;
  }

  async actionSet(results: Readonly<Record<string, string>>): Promise<void> {
    const pairs = Object.entries(results).map(([key, value]) => `${key}=${value}`);
    if (pairs.length === 0) return;
    await this.run(["action-set", ...pairs]);
  }

  async actionFail(message: string): Promise<void> {
    // `--` ends option parsing, so a message starting with `-` stays a message.
    await this.run(["action-fail", "--", message]);
  }

  private async stringList(command: readonly string[]): Promise<string[]> {
    const parsed = parseJson(command, await this.run(command));
    if (parsed === null) return [];
    if (!Array.isArray(parsed)) throw unexpectedOutput(command, "a JSON list", parsed);
    return parsed.map((item: unknown) => (typeof item === "string" ? item : coerceToString(item)));
  }

  /** Runs one hook tool; returns its stdout, or throws HookToolError. */
  private async run(command: readonly string[], input?: string): Promise<string> {
    const [tool, ...args] = command;
    if (tool === undefined) throw new Error("no hook tool named");
    this.calls += 1;
    const result = await timeStep(`hook tool ${tool}`, () =>
      runProcess(tool, args, {
        ...(this.options.env !== undefined && { env: this.options.env }),
        ...(input !== undefined && { input }),
      }),
    );
    if (result.failed) {
      const stderr = result.stderr || (result.reason ?? "");
      throw new HookToolError(formatCommand(command), result.exitCode, stderr);
    }
    return result.stdout;
  }
}

function parseJson(command: readonly string[], output: string): unknown {
  if (output.trim() === "") return null;
  try {
    return JSON.parse(output) as unknown;
  } catch {
    throw new HookToolError(
      formatCommand(command),
      0,
      `output is not JSON: ${output.slice(0, 200)}`,
    );
  }
}

function unexpectedOutput(command: readonly string[], wanted: string, got: unknown): HookToolError {
  return new HookToolError(
    formatCommand(command),
    0,
    `expected ${wanted}, got ${JSON.stringify(got).slice(0, 200)}`,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function coerceToString(value: unknown): string {
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** The command as a shell would show it, for error messages. */
function formatCommand(command: readonly string[]): string {
  return command
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}
