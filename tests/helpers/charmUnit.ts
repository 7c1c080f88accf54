// One haproxy unit for the monitoring tests: the hook layer with config and
// relation data in memory, a real haproxy, and every machine file (cron,
// nrpe, sysctl, logrotate, apt) under a temporary directory. Commands the
// charm would run on the machine are recorded, not run.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { hookContextFromEnv } from "../../src/hook/hookContext.js";
import type { HookDeps } from "../../src/hook/reconcile.js";
import { runHook } from "../../src/hook/runHook.js";
import type { Paths } from "../../src/paths.js";
import type { CommandResult, HostCommands } from "../../src/system/hostCommands.js";
import { HaproxyProcess, findFreePort } from "./haproxyProcess.js";
import { type Backend, startBackend } from "./httpBackends.js";
import { MemoryHookTools } from "./memoryHookTools.js";

export const REVERSEPROXY = "reverseproxy:1";

export class RecordingHostCommands implements HostCommands {
  readonly commands: string[] = [];
  /** The package selection dpkg reports. */
  selection = "install";

  async run(command: string, args: readonly string[], input?: string): Promise<CommandResult> {
    this.commands.push([command, ...args].join(" ") + (input ? ` <<< ${input.trim()}` : ""));
    if (command === "dpkg" && args[0] === "--get-selections") {
      return { exitCode: 0, stdout: `haproxy\t\t\t\t${this.selection}\n`, stderr: "" };
    }
    return { exitCode: 0, stdout: "", stderr: "" };
  }
}

export interface CharmUnit {
  readonly root: string;
  readonly paths: Paths & { readonly system: NonNullable<Paths["system"]> };
  readonly tools: MemoryHookTools;
  readonly host: RecordingHostCommands;
  readonly haproxy: HaproxyProcess;
  readonly deps: HookDeps;
  readonly frontendPort: number;
  readonly monitoringPort: number;
  readonly backends: readonly Backend[];
  hook(name: string, env?: Record<string, string>): Promise<void>;
  /** Sets these config values, as `juju config` does, and runs config-changed. */
  configure(values?: Record<string, unknown>): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startCharmUnit(
  options: { backends?: number; cli?: HookDeps["cli"]; host?: RecordingHostCommands } = {},
): Promise<CharmUnit> {
  const root = await mkdtemp(path.join(tmpdir(), "charm-monitoring-"));
  const paths = {
    haproxyConfig: path.join(root, "etc", "haproxy", "haproxy.cfg"),
    haproxyLib: path.join(root, "lib"),
    haproxyRun: path.join(root, "run"),
    charmState: path.join(root, "state"),
    system: {
      metricsSchedule: path.join(root, "etc", "cron.d", "haproxy-charm-metrics"),
      nagiosConfig: path.join(root, "etc", "nagios"),
      nagiosExport: path.join(root, "var", "lib", "nagios", "export"),
      nagiosPlugins: path.join(root, "usr", "local", "lib", "nagios", "plugins"),
      sysctlConfig: path.join(root, "etc", "sysctl.d", "50-haproxy.conf"),
      logrotateConfig: path.join(root, "etc", "logrotate.d", "haproxy"),
      apt: path.join(root, "etc", "apt"),
      keepalived: path.join(root, "etc", "keepalived"),
      vipSysctlConfig: path.join(root, "etc", "sysctl.d", "50-haproxy-vip.conf"),
      runtimeDirectoryConfig: path.join(root, "etc", "tmpfiles.d", "haproxy-charm.conf"),
    },
  };
  await mkdir(path.dirname(paths.haproxyConfig), { recursive: true });
  const [frontendPort, monitoringPort] = [await findFreePort(), await findFreePort()];
  const backends: Backend[] = [];
  for (let i = 0; i < (options.backends ?? 2); i++) backends.push(await startBackend(`web/${i}`));
  const tools = new MemoryHookTools();
  tools.config = {
    services:
      `- service_name: web\n  service_host: 127.0.0.1\n  service_port: ${frontendPort}\n` +
      "  service_options: [balance roundrobin]\n  server_options: [check, inter 500, fall 1]\n",
    enable_monitoring: true,
    monitoring_port: monitoringPort,
  };
  for (const backend of backends) {
    tools.addUnit(REVERSEPROXY, backend.name, {
      "private-address": "127.0.0.1",
      port: String(backend.port),
    });
  }
  const haproxy = new HaproxyProcess({
    configFile: paths.haproxyConfig,
    pidFile: path.join(root, "haproxy.pid"),
    probePorts: [frontendPort],
  });
  const host = options.host ?? new RecordingHostCommands();
  const deps: HookDeps = {
    tools,
    paths,
    service: haproxy,
    haproxyBinary: "haproxy",
    fileOwner: "haproxy",
    host,
    ...(options.cli !== undefined && { cli: options.cli }),
  };
  const hook = (name: string, env: Record<string, string> = {}) =>
    runHook(deps, hookContextFromEnv(name, { JUJU_UNIT_NAME: "haproxy/0", ...env }));
  return {
    root,
    paths,
    tools,
    host,
    haproxy,
    deps,
    frontendPort,
    monitoringPort,
    backends,
    hook,
    async configure(values = {}) {
      tools.config = { ...tools.config, ...values };
      await hook("config-changed");
    },
    async cleanup() {
      await haproxy.stop();
      await Promise.all(backends.map((backend) => backend.close()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
