// The VIP in a hook: haproxy may bind it before haproxy is applied, then
// keepalived is installed, configured and reloaded to match the option and the
// peers, and the hook learns which addresses this unit holds, for its status
// (hook/workloadStatus.ts). A bad value blocks the unit naming the option;
// haproxy, already applied, keeps serving, and keepalived keeps its last good
// configuration.
import { mkdir } from "node:fs/promises";
import path from "node:path";

import { readIfExists, writeFileAtomic } from "../lib/atomicFile.js";
import { describeError } from "../lib/describeError.js";
import type { ConfigReading } from "../config/charmConfig.js";
import { ConfigError, HookToolError } from "../lib/errors.js";
import type { HookInputs } from "../juju/hookInputs.js";
import type { HookTools } from "../juju/hookTools.js";
import type { StatusOutcome, WorkloadStatus } from "../juju/statusOutcome.js";
import type { Plan } from "../plan/planConfiguration.js";
import type { Paths, SystemPaths } from "../paths.js";
import { stateFilePath } from "../stateFiles.js";
import { removeIfPresent } from "../lib/managedFiles.js";
import type { HostCommands } from "../system/hostCommands.js";
import { heldAddresses, parseInterfaceAddresses } from "./interfaceAddresses.js";
import { probedListeners, renderCheckScript, renderKeepalivedConfig } from "./keepalivedConfig.js";
import {
  KeepalivedConfigError,
  applyKeepalived,
  ensureKeepalivedInstalled,
  type KeepalivedFiles,
  keepalivedFiles,
  removeKeepalived,
  startIfConfigured,
} from "./keepalivedService.js";
import { allowNonlocalBind, forbidNonlocalBind } from "./nonlocalBind.js";
import { type VipOption, parseVipOption } from "../config/vipOption.js";
import { planVip } from "./vipPlan.js";
import { readyToHold } from "./vipReadiness.js";
import { publishVipPeers } from "../relations/peer/vipPeers.js";
import { type VipStatusRecord, parseVipStatusRecord, sameHolding } from "./vipStatus.js";

export interface VipDeps {
  readonly tools: HookTools;
  readonly paths: Paths;
  readonly host?: HostCommands;
}

/** Where Debian's haproxy.service keeps its master's pid. */
const HAPROXY_PID_FILE = "/run/haproxy.pid";

/** Before haproxy is applied: a service bound to the VIP must be able to start on any unit. */
export async function prepareVipBinding(deps: VipDeps, config: ConfigReading): Promise<void> {
  const { host } = deps;
  const system = deps.paths.system;
  if (host === undefined || system === undefined) return;
  const option = optionOf(config);
  if (option === undefined || option instanceof ConfigError) return;
  try {
    if (await allowNonlocalBind(system, deps.paths, host)) {
      await deps.tools.log("INFO", "vip: net.ipv4.ip_nonlocal_bind=1, haproxy may bind the VIP");
    }
  } catch (error) {
    if (error instanceof HookToolError) throw error;
    await deps.tools.log("WARNING", `vip: ${describeError(error)}`);
  }
}

/**
 * After haproxy is applied (`plan`, absent when the configuration is invalid):
 * keepalived in line with the option and peers; says what the status needs.
 */
export async function maintainVip(
  deps: VipDeps,
  charmConfig: ConfigReading,
  inputs: HookInputs,
  plan: Plan | undefined,
): Promise<StatusOutcome> {
  const { tools, host } = deps;
  const system = deps.paths.system;
  if (host === undefined || system === undefined) return {};
  const option = optionOf(charmConfig);
  if (option instanceof ConfigError) return blocked(deps, option.message);
  const files = keepalivedFiles(system.keepalived);
  const recordFile = vipStatusFile(deps.paths);
  if (option === undefined) {
    await dropVip({ ...deps, host, system }, inputs, files);
    return {};
  }
  // An invalid configuration: the status already says so, keepalived stays as it was.
  if (plan === undefined) return {};

  const interfaces = parseInterfaceAddresses(await ipAddresses(host));
  const record = parseVipStatusRecord(await readIfExists(recordFile));
  const ready = await readyToHold({
    settled: record?.settled === true,
    leader: () => tools.isLeader(),
    unitAddress: inputs.privateAddress,
    peers: inputs.peers,
  });
  const wanted = await keepalivedWanted(deps, option, inputs, plan, {
    interfaces,
    files,
    ready,
    firstStart: record?.keepalivedStarted !== true,
  });
  if (wanted instanceof ConfigError) return blocked(deps, wanted.message);
  if (!ready) await tools.log("INFO", "vip: waiting for every peer to list this unit");
  try {
    if (await ensureKeepalivedInstalled(host)) await tools.log("INFO", "vip: keepalived installed");
    const action = await applyKeepalived(host, files, wanted.config, wanted.script);
    if (action !== "none") await tools.log("INFO", `vip: keepalived ${action}`);
  } catch (error) {
    if (error instanceof HookToolError) throw error;
    const message = describeError(error);
    await tools.log("ERROR", `vip: ${message}`);
    const reason = error instanceof KeepalivedConfigError ? message : `keepalived: ${message}`;
    return blocked(deps, `config option vip: ${reason}`);
  }
  // The peers learn which addresses this unit's adverts accept (vipReadiness.ts).
  const { addresses, published } = wanted;
  const peerRelation = inputs.peers[0]?.relationId;
  if (peerRelation !== undefined && record?.published !== published) {
    await publishVipPeers(tools, peerRelation, published);
  }
  const held = heldAddresses(interfaces, addresses);
  await saveRecord(recordFile, {
    addresses,
    // The hook's status, remembered once decided (rememberStatus).
    status: record?.status ?? "",
    message: record?.message ?? "",
    held,
    settled: ready,
    keepalivedStarted: true,
    ...(peerRelation !== undefined && { published }),
  });
  return { heldVips: held };
}

/** `vip` emptied: the peers told, keepalived gone with its address, haproxy's binding back. */
async function dropVip(
  deps: VipDeps & { host: HostCommands; system: SystemPaths },
  inputs: HookInputs,
  files: KeepalivedFiles,
): Promise<void> {
  const { tools, host, system } = deps;
  const recordFile = vipStatusFile(deps.paths);
  const record = parseVipStatusRecord(await readIfExists(recordFile));
  const peerRelation = inputs.peers[0]?.relationId;
  if (record?.published !== undefined && peerRelation !== undefined) {
    await publishVipPeers(tools, peerRelation, "");
  }
  if (await removeKeepalived(host, files)) {
    await tools.log("INFO", "vip emptied: keepalived stopped and the address released");
  }
  await forbidNonlocalBind(system, deps.paths, host);
  await removeIfPresent(recordFile);
}

interface KeepalivedWanted {
  readonly config: string;
  readonly script: string;
  /** The VIPs without their prefix. */
  readonly addresses: readonly string[];
  /** What this unit tells its peers on `vip-peers`. */
  readonly published: string;
}

/** keepalived.conf and its check script for this option, peers and plan; or why not. */
async function keepalivedWanted(
  deps: VipDeps,
  option: VipOption,
  inputs: HookInputs,
  plan: Plan,
  unit: {
    interfaces: ReturnType<typeof parseInterfaceAddresses>;
    files: KeepalivedFiles;
    ready: boolean;
    firstStart: boolean;
  },
): Promise<KeepalivedWanted | ConfigError> {
  try {
    const vip = planVip(option, {
      unitName: inputs.unitName,
      unitAddress: inputs.privateAddress,
      interfaces: unit.interfaces,
      peers: inputs.peers.flatMap(({ unit: name, settings }) => {
        const address = settings["private-address"];
        return address === undefined || address === "" ? [] : [{ unit: name, address }];
      }),
    });
    for (const peer of vip.ignoredPeers) {
      await deps.tools.log(
        "WARNING",
        `vip: peer ${peer.unit} left out of keepalived.conf: its private-address ` +
          `${JSON.stringify(peer.address.slice(0, 64))} is not an IPv4 address`,
      );
    }
    return {
      addresses: vip.bareAddresses,
      published: vip.peerAddresses.join(" "),
      script: renderCheckScript(
        probedListeners(plan.services, inputs.privateAddress),
        HAPROXY_PID_FILE,
        unit.ready,
      ),
      config: renderKeepalivedConfig(vip, inputs.unitName, unit.files.checkScript, unit.firstStart),
    };
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

/**
 * update-status: keepalived moves the address between hooks. A keepalived that
 * died is started again; when the addresses this unit holds changed under an
 * active status, that status (without its VIPs) and what it holds now.
 */
export async function heldVipsChange(
  deps: VipDeps,
): Promise<{ status: WorkloadStatus; held: readonly string[] } | undefined> {
  const { host, tools } = deps;
  const system = deps.paths.system;
  if (host === undefined || system === undefined) return undefined;
  const record = parseVipStatusRecord(await readIfExists(vipStatusFile(deps.paths)));
  if (record === undefined) return undefined;
  try {
    if (await startIfConfigured(host, keepalivedFiles(system.keepalived))) {
      await tools.log("WARNING", "vip: keepalived was not running; started it");
    }
  } catch (error) {
    await tools.log("ERROR", `vip: ${describeError(error)}`);
  }
  if (record.status !== "active") return undefined;
  const held = heldAddresses(parseInterfaceAddresses(await ipAddresses(host)), record.addresses);
  if (sameHolding(held, record.held)) return undefined;
  return { status: { status: "active", message: record.message }, held };
}

/** The addresses the status now names, once it is set. */
export async function rememberHeldVips(paths: Paths, held: readonly string[]): Promise<void> {
  const recordFile = vipStatusFile(paths);
  const record = parseVipStatusRecord(await readIfExists(recordFile));
  if (record !== undefined) await saveRecord(recordFile, { ...record, held });
}

/** The stop hook: the address moves to a peer now, before haproxy stops here. */
export async function releaseVip(deps: VipDeps): Promise<void> {
  const { host } = deps;
  const system = deps.paths.system;
  if (host === undefined || system === undefined) return;
  if (await removeKeepalived(host, keepalivedFiles(system.keepalived))) {
    await deps.tools.log("INFO", "vip: keepalived stopped, the address moves to a peer");
  }
}

/** The status a hook set, without its VIPs: update-status follows it, or leaves it be. */
export async function rememberStatus(paths: Paths, status: WorkloadStatus): Promise<void> {
  const recordFile = vipStatusFile(paths);
  const record = parseVipStatusRecord(await readIfExists(recordFile));
  if (record !== undefined) await saveRecord(recordFile, { ...record, ...status });
}

function optionOf(config: ConfigReading): VipOption | ConfigError | undefined {
  // Another option's type is wrong: the plan blocks the unit for it.
  if (config instanceof ConfigError) return undefined;
  try {
    return parseVipOption(config);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

async function blocked(deps: VipDeps, message: string): Promise<StatusOutcome> {
  await deps.tools.log("ERROR", `vip not applied: ${message}`);
  // haproxy serves what it was given either way.
  return { status: "blocked", message };
}

async function ipAddresses(host: HostCommands): Promise<string> {
  const result = await host.run("ip", ["-4", "-o", "addr", "show"]);
  if (result.exitCode !== 0) throw new Error(`ip -4 -o addr show: ${result.stderr.trim()}`);
  return result.stdout;
}

function vipStatusFile(paths: Paths): string {
  return stateFilePath(paths.charmState, "vipStatus");
}

async function saveRecord(file: string, record: VipStatusRecord): Promise<void> {
  if ((await readIfExists(file)) === JSON.stringify(record)) return;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(record), { mode: 0o600 });
}
