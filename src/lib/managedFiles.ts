// Files the charm owns on the machine, written only when their content
// changes (so an unchanged hook touches nothing) and removed when unwanted.
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";

import { readIfExists, writeFileAtomic } from "./atomicFile.js";

/** Writes `content` atomically unless the file already holds it; true when it wrote. */
export async function writeIfChanged(
  file: string,
  content: string,
  mode: number,
): Promise<boolean> {
  if ((await readIfExists(file)) === content) return false;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, content, { mode });
  return true;
}

/** Removes `file`; true when there was one. */
export async function removeIfPresent(file: string): Promise<boolean> {
  if ((await readIfExists(file)) === undefined) return false;
  await rm(file, { force: true });
  return true;
}
