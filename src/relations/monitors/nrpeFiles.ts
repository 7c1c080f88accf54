// Installs and removes the nrpe checks: command files in nrpe.d/, service
// definitions for the nrpe-external-master subordinate, the check scripts
// and the credentials they read.
import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";

import { readIfExists, writeFileAtomic } from "../../lib/atomicFile.js";
import type { CharmConfig } from "../../config/charmConfig.js";
import type { SystemPaths } from "../../paths.js";
import {
  NAGIOS_SERVICE_FILE,
  NRPE_COMMAND_FILE,
  type NrpeCheck,
  type TlsListener,
  QUEUE_PLUGIN,
  SERVERS_PLUGIN,
  nagiosHostname,
  nagiosServiceFile,
  nagiosServiceFileName,
  nagiosServicegroups,
  nrpeChecks,
  nrpeCommandFile,
  nrpeCommandFileName,
  statsCurlConfig,
} from "./nrpeChecks.js";
import { removeIfPresent, writeIfChanged } from "../../lib/managedFiles.js";
import { nrpePlugins } from "./nrpePlugins.js";

export interface NrpeInstallation {
  readonly checks: readonly NrpeCheck[];
  readonly changed: boolean;
  /** Set when the nagios group is missing, so the checks cannot read their credentials. */
  readonly warning?: string;
}

export function nrpeConfigDir(system: SystemPaths): string {
  return path.join(system.nagiosConfig, "nrpe.d");
}

export function statsCredentialsFile(system: SystemPaths): string {
  return path.join(system.nagiosConfig, "haproxy-charm-stats.conf");
}

/** The nrpe server is installed (by the nrpe subordinate) when its nrpe.d/ exists. */
export async function nrpeInstalled(system: SystemPaths): Promise<boolean> {
  return (await listDir(nrpeConfigDir(system))) !== undefined;
}

export async function installNrpeChecks(
  system: SystemPaths,
  config: CharmConfig,
  unitName: string,
  password: string,
  tlsListeners: readonly TlsListener[],
): Promise<NrpeInstallation> {
  const checks = nrpeChecks({ config, pluginDir: system.nagiosPlugins, tlsListeners });
  const hostname = nagiosHostname(config, unitName);
  const servicegroups = nagiosServicegroups(config);
  const credentials = statsCredentialsFile(system);
  let changed = false;

  const written = await writeFileIfChanged(
    credentials,
    statsCurlConfig(config, password),
    0o640,
    "root:nagios",
  );
  changed ||= written.changed;

  await mkdir(system.nagiosPlugins, { recursive: true });
  for (const [name, script] of nrpePlugins(credentials)) {
    changed =
      (await writeIfChanged(path.join(system.nagiosPlugins, name), script, 0o755)) || changed;
  }

  const commandDir = nrpeConfigDir(system);
  const commandFiles = new Map(
    checks.map((check) => [nrpeCommandFileName(check), nrpeCommandFile(check, servicegroups)]),
  );
  changed = (await syncOwnFiles(commandDir, NRPE_COMMAND_FILE, commandFiles)) || changed;

  // The subordinate creates the export directory; without it there is no one to read them.
  if ((await listDir(system.nagiosExport)) !== undefined) {
    const serviceFiles = new Map(
      checks.map((check) => [
        nagiosServiceFileName(check, hostname),
        nagiosServiceFile(check, hostname, servicegroups),
      ]),
    );
    changed =
      (await syncOwnFiles(system.nagiosExport, NAGIOS_SERVICE_FILE, serviceFiles)) || changed;
  }
  return { checks, changed, ...(written.warning !== undefined && { warning: written.warning }) };
}

export async function removeNrpeChecks(system: SystemPaths): Promise<{ changed: boolean }> {
  const results = await Promise.all([
    syncOwnFiles(nrpeConfigDir(system), NRPE_COMMAND_FILE, new Map()),
    syncOwnFiles(system.nagiosExport, NAGIOS_SERVICE_FILE, new Map()),
    removeIfPresent(statsCredentialsFile(system)),
    removeIfPresent(path.join(system.nagiosPlugins, SERVERS_PLUGIN)),
    removeIfPresent(path.join(system.nagiosPlugins, QUEUE_PLUGIN)),
  ]);
  return { changed: results.includes(true) };
}

/** Makes `dir`'s files matching `ours` exactly `wanted`; other files are left alone. */
async function syncOwnFiles(
  dir: string,
  ours: RegExp,
  wanted: ReadonlyMap<string, string>,
): Promise<boolean> {
  const present = await listDir(dir);
  if (present === undefined) return false;
  let changed = false;
  for (const name of present) {
    if (ours.test(name) && !wanted.has(name)) {
      changed = (await removeIfPresent(path.join(dir, name))) || changed;
    }
  }
  for (const [name, content] of wanted) {
    changed = (await writeIfChanged(path.join(dir, name), content, 0o644)) || changed;
  }
  return changed;
}

async function writeFileIfChanged(
  file: string,
  content: string,
  mode: number,
  owner: string,
): Promise<{ changed: boolean; warning?: string }> {
  if ((await readIfExists(file)) === content) return { changed: false };
  await mkdir(path.dirname(file), { recursive: true });
  const result = await writeFileAtomic(file, content, { mode, owner });
  return {
    changed: true,
    ...(result.ownerWarning !== undefined && {
      warning: `${result.ownerWarning}: the nrpe checks cannot read ${file}`,
    }),
  };
}

async function listDir(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch {
    return undefined;
  }
}
