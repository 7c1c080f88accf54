// `npm run bench:reload`: do reloads lose requests? In the local model (the
// packed charm, real hook tools, haproxy run and reloaded as Debian's unit
// file does), wrk drives HTTP load through haproxy from a machine of its own:
// 8 keep-alive connections, and 4 more opening a new connection per request.
// Meanwhile the model applies configuration changes, one after the other:
// backend units joining, units leaving and config changes, each of which
// reloads haproxy. Prints requests sent, failed and non-2xx for each load.
//
//   npm run bench:reload                      # 30 changes, the system's haproxy
//   npm run bench:reload -- 60                # more
//   npm run bench:reload -- --haproxy 3.0     # a version the tests have (or a binary's path)
import { execFileSync } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";

import { packCharm } from "../tests/e2e/packedCharm.js";
import { reloadsUnderLoad } from "../tests/e2e/reloadScenario.js";
import type { WrkFigures } from "../tests/e2e/wrkLoad.js";
import { haproxyVersions } from "../tests/helpers/haproxyVersions.js";

const usage = "usage: npm run bench:reload -- [changes] [--haproxy <version or binary>]";
const { values, positionals } = parseArgs({
  options: { haproxy: { type: "string" } },
  allowPositionals: true,
});
const changes = Number(positionals[0] ?? 30);
if (!Number.isInteger(changes) || changes < 1 || positionals.length > 1) {
  console.error(usage);
  process.exit(2);
}
const requested = values.haproxy ?? "haproxy";
const haproxyBinary =
  haproxyVersions.find((candidate) => candidate.version === requested)?.binary ?? requested;

/** The version `binary -v` reports, e.g. 3.0.11-1+deb13u5; exits when it does not run. */
function haproxyRelease(binary: string): string {
  try {
    const output = execFileSync(binary, ["-v"], { encoding: "utf8" });
    const release = /^HAProxy version (\S+)/m.exec(output)?.[1];
    if (release !== undefined) return release;
  } catch {
    // reported below
  }
  console.error(
    `${binary} does not run haproxy (versions the tests have: ${haproxyVersions
      .map((candidate) => candidate.version)
      .join(", ")})\n${usage}`,
  );
  process.exit(2);
}

/** wrk comes from Debian's archive, like haproxy itself. */
function ensureWrk(): void {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (error) {
    // wrk --version prints its version and exits 1; only a missing binary throws ENOENT.
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return;
    process.stderr.write("installing wrk with apt-get...\n");
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "-qq", "wrk"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  }
}

const release = haproxyRelease(haproxyBinary);
ensureWrk();
const charm = packCharm();
try {
  process.stderr.write(
    `applying ${changes} configuration changes under load (haproxy ${release})...\n`,
  );
  const figures = await reloadsUnderLoad({
    charmFile: charm.file,
    modelName: "bench-reload",
    changes,
    haproxyBinary,
    progress: (message) => process.stderr.write(`  ${message}\n`),
  });
  if (!release.startsWith(`${figures.haproxyVersion}.`)) {
    throw new Error(`the unit ran haproxy ${figures.haproxyVersion}, not ${release}`);
  }
  const row = (load: string, f: WrkFigures) => {
    const errors = f.socketErrors;
    const detail = `connect ${errors.connect}, read ${errors.read}, write ${errors.write}, timeout ${errors.timeout}`;
    return `| ${load} | ${f.requests} | ${f.failed} (${detail}) | ${f.non2xx} | ${f.seconds.toFixed(1)} |`;
  };
  console.log(
    [
      `haproxy ${release}: ${figures.changes} configuration changes, ${figures.reloads} haproxy reloads`,
      "",
      "| load | requests | failed | non-2xx | seconds |",
      "| --- | ---: | ---: | ---: | ---: |",
      row("8 keep-alive connections", figures.keepAlive),
      row("4 connections, a new one per request", figures.newConnections),
    ].join("\n"),
  );
  const lost =
    figures.keepAlive.failed +
    figures.keepAlive.non2xx +
    figures.newConnections.failed +
    figures.newConnections.non2xx;
  console.log(
    lost === 0
      ? "\ntarget met: no request failed or got an error status"
      : `\ntarget missed: ${lost} requests failed or got an error status`,
  );
  const load = loadavg().map((average) => average.toFixed(2));
  console.log(`load average at the end: ${load.join(" ")} (${availableParallelism()} cores)`);
} finally {
  charm.cleanup();
}
