// The haproxy binaries the tests check configurations with: the system's
// (Debian 12's 2.6) and Debian 13's 3.0 that `make deps` unpacks under
// build/haproxy3, on either side of Ubuntu 24.04's 2.8, the charm's target.
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

import { execaSync } from "execa";

export interface HaproxyVersion {
  /** major.minor, as `haproxy -v` prints it. */
  readonly version: string;
  /** What to run: a command name or an absolute path. */
  readonly binary: string;
}

/** Debian 13's haproxy 3.0, run with its own libraries (scripts/haproxy3.sh). */
export const HAPROXY3_BINARY = fileURLToPath(
  new URL("../../build/haproxy3/haproxy", import.meta.url),
);

/** The major.minor `binary -v` reports, or undefined when it does not run. */
export function haproxyVersionOf(binary: string): string | undefined {
  const result = execaSync(binary, ["-v"], { reject: false });
  return /^HAProxy version (\d+\.\d+)\./m.exec(result.stdout ?? "")?.[1];
}

/** What keeps haproxy 3.0 out of the tests, or undefined when it runs. */
export function haproxy3Problem(): string | undefined {
  if (haproxyVersionOf(HAPROXY3_BINARY) === "3.0") return undefined;
  return (
    `${relative(process.cwd(), HAPROXY3_BINARY)} does not run haproxy 3.0, so configurations ` +
    "are checked with the system's haproxy only: `make deps` brings 3.0"
  );
}

function haproxyVersionsToTest(): readonly HaproxyVersion[] {
  const system = haproxyVersionOf("haproxy");
  if (system === undefined) throw new Error("haproxy -v does not run: `make deps` installs it");
  const versions: HaproxyVersion[] = [{ version: system, binary: "haproxy" }];
  const problem = haproxy3Problem();
  if (problem === undefined) versions.push({ version: "3.0", binary: HAPROXY3_BINARY });
  // CI must test both versions; a developer without the build still gets the system's, and
  // one warning a run (warnMissingHaproxy3.ts), not one a test file.
  else if (process.env.CI === "true") throw new Error(problem);
  return versions;
}

/** Every haproxy version to check with, oldest first. */
export const haproxyVersions: readonly HaproxyVersion[] = haproxyVersionsToTest();
