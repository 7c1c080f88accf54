// A stand-in for a program that appends its arguments to a log, then runs
// the real program: lets a test see every command line the charm ran.
import { appendFile, chmod, writeFile } from "node:fs/promises";
import path from "node:path";

/** Writes `<dir>/<program>`; each run appends "<program> <args>" to `log`. */
export async function recordingWrapper(
  dir: string,
  program: string,
  real: string,
  log: string,
): Promise<string> {
  const file = path.join(dir, program);
  await appendFile(log, "");
  await writeFile(file, `#!/bin/sh\necho "${program} $*" >> '${log}'\nexec ${real} "$@"\n`);
  await chmod(file, 0o755);
  return file;
}
