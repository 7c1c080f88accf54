// `haproxy -c`: the only judge of whether a candidate configuration is valid.

import { ApplyError, ValidationError } from "../lib/errors.js";
import { runProcess } from "../lib/runProcess.js";
import { timeStep } from "../lib/stepTimer.js";

/** Resolves when haproxy accepts `file`; throws ValidationError with its first complaint. */
export async function validateHaproxyConfig(haproxyBinary: string, file: string): Promise<void> {
  const result = await timeStep("haproxy -c", () => runProcess(haproxyBinary, ["-c", "-f", file]));
  if (result.exitCode === undefined) {
    throw new ApplyError(`cannot run ${haproxyBinary}: ${result.reason ?? "unknown error"}`);
  }
  if (result.exitCode === 0) return;
  const output = result.all;
  throw new ValidationError(firstHaproxyError(output), output);
}

/**
 * The line worth showing an operator: the first `[ALERT]` line without the
 * colour codes and `[ALERT]    (pid) : ` prefix, else the first non-empty line.
 */
export function firstHaproxyError(output: string): string {
  const lines = output
    .split("\n")
    .map((line) => stripAnsi(line).trim())
    .filter((line) => line !== "");
  const alert = lines.find(
    (line) => line.includes("[ALERT]") && !INCIDENTAL_ALERTS.some((noise) => noise.test(line)),
  );
  if (alert !== undefined) return cleanAlert(alert);
  return lines[0] ?? "haproxy -c failed without output";
}

// Alerts that are never why haproxy refused a configuration or could not
// start: its syslog socket unreachable, and the master reporting a worker's
// exit (a previous instance stopping shows up in the same journal second).
const INCIDENTAL_ALERTS = [
  /failed in logger #\d+/,
  /Current (worker|program) .*exited with code/,
  /exit-on-failure/,
];

// haproxy colours its level tags when writing to a terminal.
// eslint-disable-next-line no-control-regex
const ansiEscape = /\u001b\[[0-9;]*[A-Za-z]/g;

function stripAnsi(text: string): string {
  return text.replace(ansiEscape, "");
}

function cleanAlert(line: string): string {
  // "[ALERT]    (1234) : config : parsing [...] : unknown keyword ..."
  return line
    .replace(/^.*?\[ALERT\]\s*/, "")
    .replace(/^\(\d+\)\s*:\s*/, "")
    .replace(/^config\s*:\s*/, "")
    .trim();
}
