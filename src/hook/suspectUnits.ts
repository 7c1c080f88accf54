// The related units haproxy rejected in an earlier hook. Remembering them
// lets the next hook try them last, so it confirms the others in one check
// instead of bisecting all units again. Only a hint: a lost or garbled file
// costs time, never a wrong result.
import { mkdir, readFile, unlink } from "node:fs/promises";
import path from "node:path";

import { writeFileAtomic } from "../lib/atomicFile.js";

export async function readSuspectUnits(file: string): Promise<Set<string>> {
  try {
    const units: unknown = JSON.parse(await readFile(file, "utf8"));
    if (Array.isArray(units)) {
      return new Set(units.filter((unit): unit is string => typeof unit === "string"));
    }
  } catch {
    // Missing or unreadable: no suspects.
  }
  return new Set();
}

export async function rememberSuspectUnits(file: string, units: readonly string[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify([...units].sort())}\n`, { mode: 0o600 });
}

export async function forgetSuspectUnits(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}
