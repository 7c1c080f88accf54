// Files haproxy reads are replaced in one rename: a reader sees the old
// bytes or the new bytes, never a half-written file, even after a crash.

import { chmod, chown, open, readFile, readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ApplyError } from "./errors.js";
import { describeError } from "./describeError.js";

/** Numeric owner of a file. */
export interface AccountIds {
  readonly uid: number;
  readonly gid: number;
}

export interface AtomicWriteOptions {
  readonly mode: number;
  /** A user name (`haproxy`), `user:group`, or numeric ids; absent: the writer's own. */
  readonly owner?: string | AccountIds;
}

export interface AtomicWriteResult {
  /** Set when the requested owner does not exist here, so the file kept the writer's ownership. */
  readonly ownerWarning?: string;
}

/** The file's content, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (isMissingFileError(error)) return undefined;
    throw new ApplyError(`cannot read ${path}: ${describeError(error)}`);
  }
}

/**
 * Writes `content` to `path` through a temporary file in the same directory:
 * write, fsync, chmod, chown, rename, then fsync the directory so the rename
 * itself survives a crash.
 */
export async function writeFileAtomic(
  path: string,
  content: string,
  options: AtomicWriteOptions,
): Promise<AtomicWriteResult> {
  const resolved = await resolveOwner(options.owner);
  await removeAbandonedTemporaries(path);
  // Loaded by the first write: a hook that writes nothing does not load node's crypto.
  const { randomBytes } = await import("node:crypto");
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temporary, "wx", options.mode);
    try {
      await handle.writeFile(content, "utf8");
      // open() applies the umask; chmod sets exactly the mode asked for.
      await handle.chmod(options.mode);
      if (resolved.ids !== undefined) await handle.chown(resolved.ids.uid, resolved.ids.gid);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw new ApplyError(`cannot write ${path}: ${describeError(error)}`);
  }
  await syncDirectory(dirname(path));
  return resolved.warning === undefined ? {} : { ownerWarning: resolved.warning };
}

/**
 * Temporary files of `path` left by a writer that was killed before its
 * rename. No other writer can be at work: Juju runs one hook or action at a
 * time on a machine, and only hooks and actions write these files.
 */
async function removeAbandonedTemporaries(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return; // No directory yet: nothing was left in it.
  }
  const abandoned = names.filter(
    (name) => name.startsWith(prefix) && /^[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length)),
  );
  for (const name of abandoned) await unlink(join(dirname(path), name)).catch(() => undefined);
}

/** Makes a rename or unlink in `directory` durable. */
export async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new ApplyError(`cannot sync directory ${directory}: ${describeError(error)}`);
  }
}

/**
 * Finds the ids of `user` or `user:group` in passwd/group file contents.
 * Without a group, the user's primary group from passwd is used.
 * Returns undefined when the user or the group is not listed.
 */
export function lookupAccountIds(
  owner: string,
  passwd: string,
  group: string,
): AccountIds | undefined {
  const [userName, groupName] = owner.split(":", 2);
  const userFields = findEntry(passwd, userName ?? "");
  if (userFields === undefined) return undefined;
  const uid = Number(userFields[2]);
  let gid = Number(userFields[3]);
  if (groupName !== undefined && groupName !== "") {
    const groupFields = findEntry(group, groupName);
    if (groupFields === undefined) return undefined;
    gid = Number(groupFields[2]);
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  return { uid, gid };
}

/** Reads /etc/passwd and /etc/group to find `owner`'s ids. */
export async function lookupSystemAccount(owner: string): Promise<AccountIds | undefined> {
  const [passwd, group] = await Promise.all([
    readIfExists("/etc/passwd"),
    readIfExists("/etc/group"),
  ]);
  return lookupAccountIds(owner, passwd ?? "", group ?? "");
}

async function resolveOwner(
  owner: string | AccountIds | undefined,
): Promise<{ ids?: AccountIds; warning?: string }> {
  if (owner === undefined) return {};
  if (typeof owner !== "string") return { ids: owner };
  const ids = await lookupSystemAccount(owner);
  if (ids === undefined) {
    return { warning: `owner ${owner} does not exist on this machine; the file stays root's` };
  }
  return { ids };
}

function findEntry(table: string, name: string): string[] | undefined {
  for (const line of table.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 3 && fields[0] === name) return fields;
  }
  return undefined;
}

export function isMissingFileError(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ENOENT";
}

/**
 * Brings an existing file's mode and owner to what `options` asks for,
 * without rewriting it (content that did not change keeps its mtime).
 */
export async function ensureModeAndOwner(
  path: string,
  options: AtomicWriteOptions,
): Promise<AtomicWriteResult> {
  const resolved = await resolveOwner(options.owner);
  try {
    const current = await stat(path);
    if ((current.mode & 0o7777) !== options.mode) await chmod(path, options.mode);
    const ids = resolved.ids;
    if (ids !== undefined && (current.uid !== ids.uid || current.gid !== ids.gid)) {
      await chown(path, ids.uid, ids.gid);
    }
  } catch (error) {
    throw new ApplyError(`cannot set permissions of ${path}: ${describeError(error)}`);
  }
  return resolved.warning === undefined ? {} : { ownerWarning: resolved.warning };
}
