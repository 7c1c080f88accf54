// systemctl, service, apt-get, dpkg, sysctl and journalctl as a unit of the local model
// sees them. systemd is not running here and the host's packages and kernel
// settings must stay untouched, so these answer for the machine:
// haproxy.service is the machine's HaproxyService, keepalived.service its
// KeepalivedService (a real keepalived), packages already on the
// host count as installed, net.* sysctls apply to the machine's own network
// namespace (the others are only recorded), haproxy.service's journal is
// what its haproxy printed, and anything else fails loudly
// so a charm's surprise shows.

import { execa } from "execa";
import type { HaproxyService, ServiceResult } from "./haproxyService.js";
import type { KeepalivedService } from "./keepalivedService.js";
import type { Machine } from "./machine.js";

export interface ShimResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** What a machine's shims act on, and what they remember for tests. */
export interface MachineSystem {
  readonly machine: Machine;
  readonly haproxy: HaproxyService;
  readonly keepalived: KeepalivedService;
  /** Every apt-get, dpkg and service command the charm ran, in order. */
  readonly commands: string[];
  readonly selections: string[];
  /** Kernel settings outside net.*, which a machine sharing the host's kernel must not apply. */
  readonly kernelSettings: Map<string, string>;
  enabled: boolean;
}

const ok = (stdout = ""): ShimResult => ({ code: 0, stdout, stderr: "" });
const failed = (code: number, stderr: string): ShimResult => ({
  code,
  stdout: "",
  stderr: `${stderr}\n`,
});

export async function runShim(
  tool: string,
  args: readonly string[],
  input: string | undefined,
  system: MachineSystem,
): Promise<ShimResult> {
  system.commands.push([tool, ...args].join(" "));
  switch (tool) {
    case "systemctl":
      return systemctl(args, system);
    case "service":
      return service(args, system);
    case "apt-get":
    case "apt":
      return aptGet(tool, args);
    case "dpkg":
      return dpkg(args, input, system);
    case "sysctl":
      return sysctl(args, system);
    case "journalctl":
      return journalctl(args, system);
    default:
      return failed(127, `${tool}: not provided by the local model`);
  }
}

const systemctlOptions = new Set([
  "-q",
  "--quiet",
  "--no-block",
  "--no-pager",
  "--now",
  "--system",
  "--no-ask-password",
  "-l",
  "--full",
]);

const serviceVerbs = new Set([
  "start",
  "stop",
  "reload",
  "restart",
  "try-restart",
  "reload-or-restart",
  "force-reload",
]);

async function systemctl(args: readonly string[], system: MachineSystem): Promise<ShimResult> {
  const options = args.filter((arg) => arg.startsWith("-"));
  const unknown = options.find((option) => !systemctlOptions.has(option));
  if (unknown !== undefined) return failed(1, `systemctl: unrecognized option '${unknown}'`);
  const quiet = options.includes("-q") || options.includes("--quiet");
  const [verb, ...units] = args.filter((arg) => !arg.startsWith("-"));
  if (verb === undefined) return failed(1, "systemctl: the local model needs a command verb");
  if (verb === "daemon-reload") return ok();
  if (units.length === 0) return failed(1, `Too few arguments.`);
  const results: ShimResult[] = [];
  for (const unit of units) results.push(await systemctlUnit(verb, unit, quiet, system));
  return (
    results.find((result) => result.code !== 0) ?? {
      code: 0,
      stdout: results.map((result) => result.stdout).join(""),
      stderr: "",
    }
  );
}

async function systemctlUnit(
  verb: string,
  unit: string,
  quiet: boolean,
  system: MachineSystem,
): Promise<ShimResult> {
  if (unit === "keepalived" || unit === "keepalived.service") {
    return keepalivedUnit(verb, quiet, system.keepalived);
  }
  const known = unit === "haproxy" || unit === "haproxy.service";
  const fullName = unit.includes(".") ? unit : `${unit}.service`;
  const haproxy = system.haproxy;
  if (verb === "is-active") {
    const active = known && haproxy.active;
    return {
      code: active ? 0 : 3,
      stdout: quiet ? "" : active ? "active\n" : "inactive\n",
      stderr: "",
    };
  }
  if (verb === "is-failed") return { code: 1, stdout: quiet ? "" : "inactive\n", stderr: "" };
  if (!known) {
    if (verb === "is-enabled") {
      return failed(1, `Failed to get unit file state for ${fullName}: No such file or directory`);
    }
    return failed(5, `Failed to ${verb} ${fullName}: Unit ${fullName} not found.`);
  }
  switch (verb) {
    case "is-enabled":
      return {
        code: system.enabled ? 0 : 1,
        stdout: system.enabled ? "enabled\n" : "disabled\n",
        stderr: "",
      };
    case "enable":
    case "disable":
      system.enabled = verb === "enable";
      return ok();
    case "status":
      return {
        code: haproxy.active ? 0 : 3,
        stdout: `● haproxy.service - HAProxy Load Balancer\n     Active: ${
          haproxy.active ? `active (running); Main PID: ${haproxy.pid}` : "inactive (dead)"
        }\n`,
        stderr: "",
      };
    default:
      if (!serviceVerbs.has(verb)) return failed(1, `Unknown command verb '${verb}'.`);
      return fromService(await driveService(verb, haproxy));
  }
}

async function keepalivedUnit(
  verb: string,
  quiet: boolean,
  keepalived: KeepalivedService,
): Promise<ShimResult> {
  switch (verb) {
    case "is-active":
      return {
        code: keepalived.active ? 0 : 3,
        stdout: quiet ? "" : keepalived.active ? "active\n" : "inactive\n",
        stderr: "",
      };
    case "is-enabled":
      return {
        code: keepalived.enabled ? 0 : 1,
        stdout: quiet ? "" : keepalived.enabled ? "enabled\n" : "disabled\n",
        stderr: "",
      };
    case "enable":
    case "disable":
      keepalived.enabled = verb === "enable";
      return ok();
    default:
      if (!serviceVerbs.has(verb)) return failed(1, `Unknown command verb '${verb}'.`);
      return fromService(await driveService(verb, keepalived));
  }
}

/** The verbs haproxy.service and keepalived.service both answer. */
interface DrivenService {
  readonly active: boolean;
  start(): Promise<ServiceResult>;
  stop(): Promise<ServiceResult>;
  reload(): Promise<ServiceResult>;
  restart(): Promise<ServiceResult>;
}

async function driveService(verb: string, haproxy: DrivenService): Promise<ServiceResult> {
  switch (verb) {
    case "start":
      return haproxy.start();
    case "stop":
      return haproxy.stop();
    case "reload":
    case "force-reload":
      return haproxy.reload();
    case "try-restart":
      return haproxy.active ? haproxy.restart() : { ok: true, message: "" };
    case "reload-or-restart":
      return haproxy.active ? haproxy.reload() : haproxy.start();
    default:
      return haproxy.restart();
  }
}

function fromService(result: ServiceResult): ShimResult {
  return result.ok ? ok() : failed(1, result.message.trimEnd());
}

async function service(args: readonly string[], system: MachineSystem): Promise<ShimResult> {
  const [unit, verb, ...rest] = args;
  if (unit === undefined || verb === undefined || rest.length > 0) {
    return failed(
      1,
      "Usage: service < option > | --status-all | [ service_name [ command | --full-restart ] ]",
    );
  }
  return systemctl([verb, unit], system);
}

async function aptGet(tool: string, args: readonly string[]): Promise<ShimResult> {
  const positionals: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    if (arg === "-o") index += 1;
    else if (!arg.startsWith("-")) positionals.push(arg);
  }
  const [command, ...packages] = positionals;
  if (command === "update") return ok("Reading package lists... Done\n");
  if (command !== "install") {
    return failed(
      100,
      `E: the local model's ${tool} only runs 'update' and 'install', not '${command ?? ""}'`,
    );
  }
  let stdout = "";
  for (const spec of packages) {
    const name = spec.split("=")[0] ?? spec;
    const status = await execa("dpkg-query", ["-W", "-f=${Status}", name], { reject: false });
    if (!status.stdout.includes("install ok installed")) {
      return failed(
        100,
        `E: Unable to locate package ${name} (the local model only has what its host has installed)`,
      );
    }
    stdout += `${name} is already the newest version.\n`;
  }
  return ok(stdout);
}

const readOnlyDpkg = new Set([
  "-s",
  "--status",
  "-l",
  "--list",
  "-L",
  "--listfiles",
  "-S",
  "--search",
  "--get-selections",
  "--print-architecture",
  "--compare-versions",
]);

async function dpkg(
  args: readonly string[],
  input: string | undefined,
  system: MachineSystem,
): Promise<ShimResult> {
  if (args.includes("--set-selections")) {
    system.selections.push(...(input ?? "").split("\n").filter((line) => line.trim() !== ""));
    return ok();
  }
  if (args[0] !== undefined && readOnlyDpkg.has(args[0])) {
    const result = await execa("dpkg", [...args], { reject: false });
    return {
      code: result.exitCode ?? 1,
      stdout: result.stdout ? `${result.stdout}\n` : "",
      stderr: result.stderr,
    };
  }
  return failed(2, `dpkg: the local model does not change packages (dpkg ${args.join(" ")})`);
}

async function sysctl(args: readonly string[], system: MachineSystem): Promise<ShimResult> {
  const quiet = args.some((arg) => arg === "-q" || arg === "--quiet");
  const settings: [string, string][] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    if (arg === "-p" || arg === "--load" || arg.startsWith("--load=")) {
      const next = args[index + 1];
      const file = arg.startsWith("--load=")
        ? arg.slice("--load=".length)
        : next !== undefined && !next.startsWith("-")
          ? next
          : "/etc/sysctl.conf";
      if (file === next) index += 1;
      const content = await system.machine.exec(["cat", "--", file]);
      if (content.exitCode !== 0)
        return failed(1, `sysctl: cannot open "${file}": No such file or directory`);
      settings.push(...sysctlFile(content.stdout));
    } else if (arg === "--system") {
      const content = await system.machine.exec([
        "/bin/sh",
        "-c",
        "cat /etc/sysctl.d/*.conf /etc/sysctl.conf 2>/dev/null",
      ]);
      settings.push(...sysctlFile(content.stdout));
    } else if (["-w", "--write", "-q", "--quiet", "-e", "--ignore"].includes(arg)) {
      continue;
    } else if (arg.startsWith("-") && !["-n", "--values", "-a", "--all"].includes(arg)) {
      return failed(1, `sysctl: the local model does not handle option ${arg}`);
    } else if (arg.includes("=")) {
      const equals = arg.indexOf("=");
      settings.push([arg.slice(0, equals).trim(), arg.slice(equals + 1).trim()]);
    }
  }
  if (settings.length === 0) {
    const result = await system.machine.execInNetwork(["sysctl", ...args]);
    return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  }
  let stdout = "";
  for (const [rawKey, value] of settings) {
    const key = rawKey.replaceAll("/", ".");
    if (key.startsWith("net.")) {
      const result = await system.machine.execInNetwork(["sysctl", "-q", "-w", `${key}=${value}`]);
      if (result.exitCode !== 0) return { code: result.exitCode, stdout, stderr: result.stderr };
    } else {
      system.kernelSettings.set(key, value);
    }
    if (!quiet) stdout += `${key} = ${value}\n`;
  }
  return ok(stdout);
}

/** `key = value` lines of a sysctl.conf file; a leading `-` only means "ignore errors". */
function sysctlFile(content: string): [string, string][] {
  return content
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#") && !line.startsWith(";"))
    .filter((line) => line.includes("="))
    .map((line) => {
      const equals = line.indexOf("=");
      return [line.slice(0, equals).trim().replace(/^-/, ""), line.slice(equals + 1).trim()];
    });
}

/** The options of journalctl the model answers; the value is whether one follows. */
const journalctlOptions = new Map([
  ["-u", true],
  ["--unit", true],
  ["--since", true],
  ["-n", true],
  ["--lines", true],
  ["-o", true],
  ["--output", true],
  ["--no-pager", false],
  ["-q", false],
  ["--quiet", false],
]);

async function journalctl(args: readonly string[], system: MachineSystem): Promise<ShimResult> {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = equals > 0 ? arg.slice(0, equals) : arg;
    const takesValue = journalctlOptions.get(name);
    if (takesValue === undefined) {
      return failed(1, `journalctl: the local model does not support ${name}`);
    }
    if (!takesValue) {
      flags.add(name);
      continue;
    }
    const value = equals > 0 ? arg.slice(equals + 1) : args[(index += 1)];
    if (value === undefined) return failed(1, `journalctl: option '${name}' requires an argument`);
    values.set(
      name.replace(/^-u$/, "--unit").replace(/^-n$/, "--lines").replace(/^-o$/, "--output"),
      value,
    );
  }
  const output = values.get("--output") ?? "cat";
  if (output !== "cat") {
    return failed(1, `journalctl: the local model only writes --output cat, not ${output}`);
  }
  const since = values.get("--since");
  if (since !== undefined && !/^@\d+(\.\d{1,6})?$/.test(since)) {
    return failed(1, `journalctl: the local model only reads --since @<seconds>, not ${since}`);
  }
  const lines = values.get("--lines");
  if (lines !== undefined && !/^\d+$/.test(lines)) {
    return failed(1, `journalctl: invalid number of lines: ${lines}`);
  }
  const unit = values.get("--unit");
  const ours = unit === undefined || unit === "haproxy" || unit === "haproxy.service";
  const sinceMs = since === undefined ? 0 : Number(since.slice(1)) * 1000;
  let entries = ours ? system.haproxy.journal.filter((entry) => entry.at >= sinceMs) : [];
  if (lines !== undefined) entries = entries.slice(Math.max(0, entries.length - Number(lines)));
  if (entries.length === 0) {
    const quiet = flags.has("-q") || flags.has("--quiet");
    return ok(quiet ? "" : "-- No entries --\n");
  }
  return ok(entries.map((entry) => `${entry.message}\n`).join(""));
}
