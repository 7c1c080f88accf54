// Managed files are named after services, and service names come from
// relation data: a name like `../../etc` must never reach the file system.

import { realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { ApplyError } from "../lib/errors.js";
import { isMissingFileError } from "../lib/atomicFile.js";

/**
 * The absolute path `path` (relative ones are taken from `library`) names,
 * after following existing symbolic links; ApplyError when that is not
 * strictly inside `library`.
 */
export async function resolveInsideLibrary(library: string, path: string): Promise<string> {
  const lexical = resolve(library, path);
  const [realLibrary, realTarget] = await Promise.all([
    realPathOfNearest(resolve(library)),
    realPathOfNearest(lexical),
  ]);
  if (!isStrictlyInside(resolve(library), lexical) || !isStrictlyInside(realLibrary, realTarget)) {
    throw new ApplyError(`refusing to write ${path}: it is outside ${library}`);
  }
  return lexical;
}

function isStrictlyInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** realpath() of the deepest existing ancestor, with the missing tail appended. */
async function realPathOfNearest(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    const parent = dirname(path);
    if (!isMissingFileError(error) || parent === path) throw error;
    return join(await realPathOfNearest(parent), basename(path));
  }
}
