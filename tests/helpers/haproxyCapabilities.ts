// What a haproxy can do, asked of the binary itself rather than read off its
// version: Ubuntu 24.04's 2.8, the charm's target, behaves like 2.6 where
// 3.0 differs, and the tests run 2.6 and 3.0 only.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { askAdminSocket } from "../../src/metrics/statsSocket.js";
import { HaproxyProcess } from "./haproxyProcess.js";

const answers = new Map<string, Promise<boolean>>();

/** Whether `add server` takes `cookie` (3.0 does; 2.6 and 2.8 answer it is not accepted). */
export function takesCookieOnAddedServers(binary: string): Promise<boolean> {
  const known = answers.get(binary) ?? askCookieOnAddedServer(binary);
  answers.set(binary, known);
  return known;
}

async function askCookieOnAddedServer(binary: string): Promise<boolean> {
  const root = await mkdtemp(join(tmpdir(), "haproxy-capability-"));
  const socket = join(root, "admin.sock");
  const configFile = join(root, "haproxy.cfg");
  await writeFile(
    configFile,
    [
      "global",
      `    stats socket ${socket} mode 600 level admin`,
      "defaults",
      "    mode http",
      "    timeout connect 1s",
      "    timeout client 1s",
      "    timeout server 1s",
      "backend app",
      "    cookie SRVNAME insert",
      "",
    ].join("\n"),
  );
  const haproxy = new HaproxyProcess({
    configFile,
    pidFile: join(root, "haproxy.pid"),
    haproxyBinary: binary,
  });
  try {
    await haproxy.start();
    const answer = await askAdminSocket(socket, "add server app/probe 127.0.0.1:1 cookie S0");
    return answer.includes("New server registered");
  } finally {
    await haproxy.stop();
    await rm(root, { recursive: true, force: true });
  }
}
