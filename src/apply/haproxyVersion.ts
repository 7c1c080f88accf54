// Which haproxy the unit runs, for the features that came with a version
// (bandwidth limits: 2.7). Asked only when a route needs to know.
import { runProcess } from "../lib/runProcess.js";

/** `2.6.12` from `HAProxy version 2.6.12-1+deb12u1 2023/...`; undefined when haproxy does not say. */
export async function installedHaproxyVersion(haproxyBinary: string): Promise<string | undefined> {
  const result = await runProcess(haproxyBinary, ["-v"]);
  return /version (\d+\.\d+(?:\.\d+)?)/i.exec(result.stdout)?.[1];
}
