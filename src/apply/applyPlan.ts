// Stage, validate, swap, reload: the only place the charm touches haproxy's
// files and process. A configuration haproxy rejects never goes live, an
// unchanged one never causes a reload, and a reload haproxy did not load
// is never taken for one it did.

import { mkdir, rename, rmdir, stat, unlink } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { describeError } from "../lib/describeError.js";
import { ApplyError, ValidationError } from "../lib/errors.js";
import { timeStep } from "../lib/stepTimer.js";
import type { ManagedFile } from "../model/types.js";
import type { Paths } from "../paths.js";
import { stateFilePath } from "../stateFiles.js";
import {
  type AccountIds,
  ensureModeAndOwner,
  isMissingFileError,
  readIfExists,
  syncDirectory,
  writeFileAtomic,
} from "../lib/atomicFile.js";
import { askAdminSocket } from "../metrics/statsSocket.js";
import { type FileChange, planCertificateUpdate } from "../model/certificateUpdate.js";
import { hostnameCrtListPath } from "../model/hostnameCrtList.js";
import { adminSocketPath, serverStateFilePath } from "../model/runtimeFiles.js";
import { planServerDelta } from "../model/serverDelta.js";
import { reloadConfirmed } from "./confirmedReload.js";
import { validateHaproxyConfig } from "./haproxyCheck.js";
import { resolveInsideLibrary } from "./libraryPath.js";
import { applyCertificateSteps } from "./runtimeCertificates.js";
import { type AskHaproxy, applyServerDeltas } from "./runtimeServers.js";
import type { ServiceManager } from "./serviceManager.js";
import { ensureServerStateFile, saveServerState } from "./serverStateFile.js";

export interface ApplyPlanInput {
  readonly haproxyCfg: string;
  readonly files: readonly ManagedFile[];
}

export interface ApplyEnvironment {
  readonly paths: Paths;
  readonly haproxyBinary: string;
  readonly service: ServiceManager;
  /**
   * Owner of secret files (keys, certificates): root on a unit, since haproxy's
   * master loads them as root, before the workers drop privileges.
   */
  readonly fileOwner: string;
  /** Asks the running haproxy one command; absent, its admin socket under `paths.haproxyRun`. */
  readonly askHaproxy?: AskHaproxy;
}

export interface ApplyResult {
  /** haproxy.cfg's text differs from what was live. */
  readonly configChanged: boolean;
  /** Managed files whose content was (re)written, as absolute paths. */
  readonly filesWritten: string[];
  /** `updated`: servers or certificates changed through the runtime API, no reload. */
  readonly action: "none" | "updated" | "reloaded" | "started";
  /** Things an operator may want to know, e.g. a missing file owner. */
  readonly warnings: string[];
  /** What was changed, or tried, through the runtime API. */
  readonly runtimeChange?: "servers" | "certificates";
  /** Why that could not be done without a reload, when it was tried. */
  readonly runtimeFallback?: string;
}

/** haproxy.cfg holds the statistics password and userlist passwords: root only. */
const liveConfigMode = 0o600;
/** Secrets are never readable by anyone but their owner, whatever the plan says. */
const secretMode = 0o600;

interface ChangedFile {
  readonly path: string;
  /** Its place in the plan's files. */
  readonly index: number;
  readonly previous?: { readonly content: string; readonly mode: number; readonly ids: AccountIds };
  /** The outermost directory created for this file, removed again on rollback. */
  readonly createdDirectory?: string;
}

export async function applyPlan(plan: ApplyPlanInput, env: ApplyEnvironment): Promise<ApplyResult> {
  const { paths, service } = env;
  const targets = await resolveTargets(plan.files, paths.haproxyLib);
  const warnings = new Set<string>();

  const changed = await writeManagedFiles(plan.files, targets, env.fileOwner, warnings);
  const filesWritten = changed.map((file) => file.path);
  const live = await readIfExists(paths.haproxyConfig);
  const configChanged = live !== plan.haproxyCfg;
  // A live file left readable by an earlier writer (the package, an older charm) is closed up.
  if (!configChanged) await ensureModeAndOwner(paths.haproxyConfig, { mode: liveConfigMode });
  // Lives from the rename until haproxy has loaded the file: the next hook
  // reloads while it is there, even with nothing changed.
  const marker = stateFilePath(paths.charmState, "reloadPending");

  const ask = env.askHaproxy ?? askOver(adminSocketPath(paths.haproxyRun));
  const stateFile = serverStateFilePath(paths.haproxyRun);
  await ensureServerStateFile(stateFile);

  if (!configChanged && changed.length === 0) {
    // A candidate left by a run killed before its rename is of no use now.
    await unlink(candidatePath(paths)).catch(() => undefined);
    if (await exists(marker)) {
      const action = await reloadOrStart(service, ask, () =>
        saveServerState(ask, stateFile, plan.haproxyCfg),
      );
      await unlink(marker).catch(() => undefined);
      return { configChanged, filesWritten, action, warnings: [...warnings] };
    }
    if (await service.isRunning()) {
      return { configChanged, filesWritten, action: "none", warnings: [...warnings] };
    }
    await service.start();
    return { configChanged, filesWritten, action: "started", warnings: [...warnings] };
  }

  const candidate = candidatePath(paths);
  try {
    await writeAndValidateCandidate(candidate, plan.haproxyCfg, env.haproxyBinary);
  } catch (error) {
    await unlink(candidate).catch(() => undefined);
    await rollBack(changed, error);
    throw asKnownError(error);
  }

  // While a marker is left, the running haproxy may not run the live file:
  // servers changed at run time would be judged against the wrong one.
  const reloadPending = await exists(marker);
  // From here the new files are live: a failed reload must be retried by
  // the next hook even though the files will then look unchanged.
  await mkdir(paths.charmState, { recursive: true });
  await writeFileAtomic(marker, "", { mode: 0o600 });
  try {
    await rename(candidate, paths.haproxyConfig);
  } catch (error) {
    throw new ApplyError(`cannot replace ${paths.haproxyConfig}: ${describeError(error)}`);
  }
  await syncDirectory(dirname(paths.haproxyConfig));
  // What the runtime API could not do, and why: the reload below does it.
  let runtime: { change: "servers" | "certificates"; fallback: string } | undefined;
  const updated = (change: "servers" | "certificates"): ApplyResult => ({
    configChanged,
    filesWritten,
    action: "updated",
    warnings: [...warnings],
    runtimeChange: change,
  });
  // Only servers, or only files, changed: haproxy may take them as it runs.
  const runtimeCandidate = changed.length === 0 || !configChanged;
  if (live !== undefined && !reloadPending && runtimeCandidate && (await service.isRunning())) {
    if (changed.length === 0) {
      // Only servers changed: change them in place, no new worker.
      const delta = planServerDelta(live, plan.haproxyCfg);
      if (delta.kind === "runtime") {
        try {
          await timeStep("change servers at run time", () =>
            applyServerDeltas(ask, delta.backends),
          );
          await saveServerState(ask, stateFile, plan.haproxyCfg);
          await unlink(marker).catch(() => undefined);
          return updated("servers");
        } catch (error) {
          runtime = { change: "servers", fallback: describeError(error) };
        }
      }
    } else {
      // Only files changed: the hostnames' certificates go in without a reload.
      const result = await certificatesAtRunTime(plan, changed, live, env, ask);
      if (result.applied) {
        await unlink(marker).catch(() => undefined);
        return updated("certificates");
      }
      if (result.fallback !== undefined) {
        runtime = { change: "certificates", fallback: result.fallback };
      }
    }
  }
  const action = await reloadOrStart(service, ask, () =>
    saveServerState(ask, stateFile, plan.haproxyCfg),
  );
  await unlink(marker).catch(() => undefined);
  return {
    configChanged,
    filesWritten,
    action,
    warnings: [...warnings],
    ...(runtime !== undefined && {
      runtimeChange: runtime.change,
      runtimeFallback: runtime.fallback,
    }),
  };
}

/**
 * Files alone changed: if they are the hostnames' certificates and their
 * crt-list (model/certificateUpdate.ts), into the running haproxy. Not
 * applied: a reload is due, and `fallback` says why unless no hostname
 * certificate changed at all.
 */
async function certificatesAtRunTime(
  plan: ApplyPlanInput,
  changed: readonly ChangedFile[],
  live: string,
  env: ApplyEnvironment,
  ask: AskHaproxy,
): Promise<{ applied: true } | { applied: false; fallback?: string }> {
  const update = planCertificateUpdate({
    crtList: hostnameCrtListPath(env.paths.haproxyLib),
    haproxyCfg: live,
    changed: changed.map((file) => fileChange(plan.files, file)),
    planned: new Map(plan.files.map((file) => [file.path, file.content])),
  });
  if (update.kind === "unrelated") return { applied: false };
  if (update.kind === "reload") return { applied: false, fallback: update.reason };
  const result = await timeStep("change certificates at run time", () =>
    applyCertificateSteps(ask, update.crtList, update.steps, { owner: env.fileOwner }),
  );
  return result.applied ? result : { applied: false, fallback: result.problem };
}

/** A changed file as the plan names it, with what it held before. */
function fileChange(files: readonly ManagedFile[], file: ChangedFile): FileChange {
  const planned = files[file.index];
  return {
    path: planned?.path ?? file.path,
    content: planned?.content ?? "",
    ...(file.previous !== undefined && { previous: file.previous.content }),
  };
}

/** Asks the haproxy answering at `socket`, for at most 5 s a question. */
export function askOver(socket: string): AskHaproxy {
  return (command) => askAdminSocket(socket, command, 5000);
}

/**
 * Whether haproxy accepts `plan` with its files in place; throws
 * ValidationError if not. Nothing stays changed and haproxy is not touched.
 */
export async function checkPlan(plan: ApplyPlanInput, env: ApplyEnvironment): Promise<void> {
  const targets = await resolveTargets(plan.files, env.paths.haproxyLib);
  const changed = await writeManagedFiles(plan.files, targets, env.fileOwner, new Set());
  const candidate = candidatePath(env.paths);
  let failure: unknown;
  try {
    await writeAndValidateCandidate(candidate, plan.haproxyCfg, env.haproxyBinary);
  } catch (error) {
    failure = error;
  }
  await unlink(candidate).catch(() => undefined);
  await rollBack(changed, failure ?? "a configuration check");
  if (failure !== undefined) throw asKnownError(failure);
}

function candidatePath(paths: Paths): string {
  return `${paths.haproxyConfig}.new`;
}

async function writeAndValidateCandidate(
  candidate: string,
  text: string,
  haproxyBinary: string,
): Promise<void> {
  await mkdir(dirname(candidate), { recursive: true });
  await writeFileAtomic(candidate, text, { mode: liveConfigMode });
  await validateHaproxyConfig(haproxyBinary, candidate);
}

/**
 * `beforeReload` saves what the running haproxy knows for the new worker. A
 * reload haproxy did not load throws NotLoadedError, and the marker stays.
 */
async function reloadOrStart(
  service: ServiceManager,
  ask: AskHaproxy,
  beforeReload: () => Promise<void>,
): Promise<"reloaded" | "started"> {
  if (await service.isRunning()) {
    await timeStep("save server state", beforeReload);
    await timeStep("reload and confirm", () => reloadConfirmed(service, ask));
    return "reloaded";
  }
  await service.start();
  return "started";
}

/** Checks every path before anything is written. */
async function resolveTargets(files: readonly ManagedFile[], library: string): Promise<string[]> {
  const targets = await Promise.all(files.map((file) => resolveInsideLibrary(library, file.path)));
  const seen = new Set<string>();
  for (const target of targets) {
    if (seen.has(target)) throw new ApplyError(`the plan writes ${target} twice`);
    seen.add(target);
  }
  return targets;
}

async function writeManagedFiles(
  files: readonly ManagedFile[],
  targets: readonly string[],
  fileOwner: string,
  warnings: Set<string>,
): Promise<ChangedFile[]> {
  const changed: ChangedFile[] = [];
  try {
    for (const [index, file] of files.entries()) {
      const path = targets[index] ?? file.path;
      const options = file.secret
        ? { mode: secretMode, owner: fileOwner }
        : { mode: file.mode & 0o7777 };
      const previousContent = await readIfExists(path);
      if (previousContent === file.content) {
        noteWarning(warnings, await ensureModeAndOwner(path, options));
        continue;
      }
      let previous: ChangedFile["previous"];
      let createdDirectory: string | undefined;
      if (previousContent === undefined) {
        createdDirectory = await mkdir(dirname(path), { recursive: true });
      } else {
        const current = await stat(path);
        previous = {
          content: previousContent,
          mode: current.mode & 0o7777,
          ids: { uid: current.uid, gid: current.gid },
        };
      }
      changed.push({ path, index, previous, createdDirectory });
      noteWarning(warnings, await writeFileAtomic(path, file.content, options));
    }
  } catch (error) {
    await rollBack(changed, error);
    throw asKnownError(error);
  }
  return changed;
}

/** Puts back the managed files this run changed; `cause` is what went wrong first. */
async function rollBack(changed: readonly ChangedFile[], cause: unknown): Promise<void> {
  const failures: string[] = [];
  for (const file of [...changed].reverse()) {
    try {
      if (file.previous === undefined) {
        await unlink(file.path).catch((error: unknown) => {
          if (!isMissingFileError(error)) throw error;
        });
        await removeCreatedDirectories(file);
      } else {
        await writeFileAtomic(file.path, file.previous.content, {
          mode: file.previous.mode,
          owner: file.previous.ids,
        });
      }
    } catch (error) {
      failures.push(`${file.path}: ${describeError(error)}`);
    }
  }
  if (failures.length > 0) {
    throw new ApplyError(
      `${describeError(cause)}; restoring the previous files also failed: ${failures.join("; ")}`,
      { cause },
    );
  }
}

async function removeCreatedDirectories(file: ChangedFile): Promise<void> {
  if (file.createdDirectory === undefined) return;
  const outermost = resolve(file.createdDirectory);
  let directory = dirname(file.path);
  // Deepest first; a directory another file still uses is not empty and stays.
  while (!relative(outermost, directory).startsWith("..")) {
    try {
      await rmdir(directory);
    } catch {
      return;
    }
    if (directory === outermost) return;
    directory = dirname(directory);
  }
}

function noteWarning(warnings: Set<string>, result: { ownerWarning?: string }): void {
  if (result.ownerWarning !== undefined) warnings.add(result.ownerWarning);
}

async function exists(path: string): Promise<boolean> {
  return (await readIfExists(path)) !== undefined;
}

/** File system errors become ApplyError; the charm's own errors pass through. */
function asKnownError(error: unknown): Error {
  if (error instanceof ApplyError || error instanceof ValidationError) return error;
  return new ApplyError(describeError(error), { cause: error });
}
