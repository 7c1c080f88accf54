import { readFile, rm, stat } from "node:fs/promises";
import { createServer, get, type Server } from "node:http";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  applyPlan,
  type ApplyEnvironment,
  type ApplyPlanInput,
} from "../../src/apply/applyPlan.js";
import { lookupSystemAccount } from "../../src/lib/atomicFile.js";
import type { ServiceManager } from "../../src/apply/serviceManager.js";
import { ApplyError, ValidationError } from "../../src/lib/errors.js";
import type { ManagedFile } from "../../src/model/types.js";
import type { Paths } from "../../src/paths.js";
import { findFreePort, type HaproxyProcess, haproxyIn } from "../helpers/haproxyProcess.js";
import { temporaryPaths } from "../helpers/temporaryPaths.js";

interface Backend {
  readonly port: number;
  readonly server: Server;
}

let root: string;
let paths: Paths;
let haproxy: HaproxyProcess;
let webPort: number;
let sorryPort: number;
let alpha: Backend;
let beta: Backend;

beforeEach(async () => {
  ({ root, paths } = await temporaryPaths("apply-plan-"));
  [alpha, beta] = await Promise.all([startBackend("alpha"), startBackend("beta")]);
  webPort = await findFreePort();
  do sorryPort = await findFreePort();
  while (sorryPort === webPort);
  haproxy = haproxyIn(paths, { probePorts: [webPort] });
});

afterEach(async () => {
  await haproxy.stop();
  await Promise.all([alpha, beta].map((backend) => closeServer(backend.server)));
  await rm(root, { recursive: true, force: true });
});

function environment(service: ServiceManager = haproxy): ApplyEnvironment {
  return { paths, haproxyBinary: "haproxy", service, fileOwner: "haproxy" };
}

function errorfile(body: string): ManagedFile {
  return {
    path: join(paths.haproxyLib, "service_sorry", "503.http"),
    content: `HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\n${body}\n`,
    mode: 0o644,
    secret: false,
  };
}

/** web -> the given backend; sorry -> no servers, so haproxy answers with the errorfile. */
function plan(
  backend: Backend,
  options: { extraBackendLine?: string; sorryBody?: string; extraFiles?: ManagedFile[] } = {},
): ApplyPlanInput {
  const page = errorfile(options.sorryBody ?? "sorry A");
  const haproxyCfg = [
    "global",
    "    maxconn 256",
    "defaults",
    "    mode http",
    "    timeout connect 2s",
    "    timeout client 5s",
    "    timeout server 5s",
    "frontend web",
    `    bind 127.0.0.1:${webPort}`,
    "    default_backend app",
    "backend app",
    ...(options.extraBackendLine === undefined ? [] : [`    ${options.extraBackendLine}`]),
    `    server app-0 127.0.0.1:${backend.port}`,
    "frontend sorry",
    `    bind 127.0.0.1:${sorryPort}`,
    "    default_backend sorry",
    "backend sorry",
    `    errorfile 503 ${page.path}`,
    "",
  ].join("\n");
  return { haproxyCfg, files: [page, ...(options.extraFiles ?? [])] };
}

describe("applyPlan against a real haproxy", () => {
  it("serves a valid plan, then serves a changed plan after a reload", async () => {
    const first = await applyPlan(plan(alpha), environment());
    expect(first).toEqual({
      configChanged: true,
      filesWritten: [join(paths.haproxyLib, "service_sorry", "503.http")],
      action: "started",
      warnings: [],
    });
    expect(await fetchText(webPort)).toEqual({ status: 200, body: "alpha" });
    expect(await fetchText(sorryPort)).toEqual({ status: 503, body: "sorry A\n" });

    const second = await applyPlan(plan(beta, { sorryBody: "sorry B" }), environment());
    expect(second.action).toBe("reloaded");
    expect(second.configChanged).toBe(true);
    expect(await eventuallyBody(webPort, "beta")).toBe("beta");
    expect(await eventuallyBody(sorryPort, "sorry B\n")).toBe("sorry B\n");
    expect(haproxy.starts).toBe(1);
  });

  it("rejects an invalid plan, keeping the live config, the traffic and the managed files", async () => {
    await applyPlan(plan(alpha), environment());
    const liveBefore = await readFile(paths.haproxyConfig);
    const page = errorfile("sorry A");
    const newFile: ManagedFile = {
      path: join(paths.haproxyLib, "service_new", "404.http"),
      content: "HTTP/1.0 404 Not Found\r\n\r\n",
      mode: 0o644,
      secret: false,
    };

    const attempt = applyPlan(
      plan(beta, {
        extraBackendLine: "no-such-keyword on",
        sorryBody: "changed",
        extraFiles: [newFile],
      }),
      environment(),
    );

    const error = await attempt.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    const firstError = (error as ValidationError).firstError;
    expect(firstError).toContain("unknown keyword 'no-such-keyword'");
    expect(firstError).not.toContain("ALERT");
    expect(firstError).not.toContain("\u001b");
    expect((error as ValidationError).output).toContain("Fatal errors found in configuration");
    expect(await readFile(paths.haproxyConfig)).toEqual(liveBefore);
    expect(await readFile(page.path, "utf8")).toBe(page.content);
    await expect(stat(dirname(newFile.path))).rejects.toThrow(/ENOENT/);
    await expect(stat(`${paths.haproxyConfig}.new`)).rejects.toThrow(/ENOENT/);
    expect(haproxy.reloads).toBe(0);
    expect(await fetchText(webPort)).toEqual({ status: 200, body: "alpha" });
    expect(await fetchText(sorryPort)).toEqual({ status: 503, body: "sorry A\n" });
  });

  it("does nothing when the same plan is applied twice", async () => {
    const secret: ManagedFile = {
      path: join(paths.haproxyLib, "default.pem"),
      content: "not a real key\n",
      mode: 0o600,
      secret: true,
    };
    await applyPlan(plan(alpha, { extraFiles: [secret] }), environment());
    const configBefore = await stat(paths.haproxyConfig);
    const pageBefore = await stat(errorfile("").path);

    const again = await applyPlan(plan(alpha, { extraFiles: [secret] }), environment());

    expect(again).toEqual({ configChanged: false, filesWritten: [], action: "none", warnings: [] });
    const configAfter = await stat(paths.haproxyConfig);
    expect([configAfter.ino, configAfter.mtimeMs]).toEqual([
      configBefore.ino,
      configBefore.mtimeMs,
    ]);
    expect((await stat(errorfile("").path)).mtimeMs).toBe(pageBefore.mtimeMs);
    expect(haproxy.reloads).toBe(0);
    expect(haproxy.starts).toBe(1);
  });

  it("starts haproxy when the plan is unchanged but haproxy is stopped", async () => {
    await applyPlan(plan(alpha), environment());
    await haproxy.stop();
    expect(await haproxy.isRunning()).toBe(false);

    const result = await applyPlan(plan(alpha), environment());

    expect(result).toMatchObject({ configChanged: false, filesWritten: [], action: "started" });
    expect(await fetchText(webPort)).toEqual({ status: 200, body: "alpha" });
  });

  it("retries a reload that failed in an earlier run, although nothing changed since", async () => {
    await applyPlan(plan(alpha), environment());
    let failNextReload = true;
    const flakyService = {
      isRunning: () => haproxy.isRunning(),
      start: () => haproxy.start(),
      stop: () => haproxy.stop(),
      reloadOutput: () => haproxy.reloadOutput(),
      reload: async () => {
        if (failNextReload) {
          failNextReload = false;
          throw new ApplyError("systemctl reload haproxy failed (exit 1): simulated");
        }
        await haproxy.reload();
      },
    };

    await expect(applyPlan(plan(beta), environment(flakyService))).rejects.toThrow(/simulated/);
    expect(await fetchText(webPort)).toEqual({ status: 200, body: "alpha" });

    const retry = await applyPlan(plan(beta), environment(flakyService));
    expect(retry).toMatchObject({ configChanged: false, action: "reloaded" });
    expect(await eventuallyBody(webPort, "beta")).toBe("beta");
  });

  it("refuses a managed file outside haproxyLib and writes nothing", async () => {
    const escaping: ManagedFile = { path: "../x", content: "x", mode: 0o644, secret: false };

    await expect(applyPlan(plan(alpha, { extraFiles: [escaping] }), environment())).rejects.toThrow(
      new ApplyError(`refusing to write ../x: it is outside ${paths.haproxyLib}`),
    );

    await expect(stat(join(root, "x"))).rejects.toThrow(/ENOENT/);
    await expect(stat(dirname(errorfile("").path))).rejects.toThrow(/ENOENT/);
    await expect(stat(paths.haproxyConfig)).rejects.toThrow(/ENOENT/);
    expect(await haproxy.isRunning()).toBe(false);
  });

  it("writes secret files 0600 for the file owner and other files with their own mode", async () => {
    const secret: ManagedFile = {
      path: join(paths.haproxyLib, "service_web", "0.pem"),
      content: "not a real key\n",
      mode: 0o644,
      secret: true,
    };

    await applyPlan(plan(alpha, { extraFiles: [secret] }), environment());

    const owner = await lookupSystemAccount("haproxy");
    expect(owner).toBeDefined();
    const secretStat = await stat(secret.path);
    expect(secretStat.mode & 0o777).toBe(0o600);
    expect({ uid: secretStat.uid, gid: secretStat.gid }).toEqual(owner);
    expect((await stat(errorfile("").path)).mode & 0o777).toBe(0o644);
    // haproxy.cfg holds the statistics password: root only.
    expect((await stat(paths.haproxyConfig)).mode & 0o777).toBe(0o600);
  });
});

async function startBackend(name: string): Promise<Backend> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/plain" });
    response.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address !== "object") throw new Error("backend has no port");
  return { port: address.port, server };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** One request on a fresh connection, so each one sees haproxy's current worker. */
function fetchText(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get({ host: "127.0.0.1", port, path: "/", agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("error", reject);
    request.setTimeout(5_000, () => request.destroy(new Error("request timed out")));
  });
}

/**
 * The body once it equals `wanted`, or the last one seen after a few seconds:
 * right after a reload the old worker may still take a connection or two.
 */
async function eventuallyBody(port: number, wanted: string): Promise<string> {
  const deadline = Date.now() + 5_000;
  let body = "";
  while (Date.now() < deadline) {
    body = (await fetchText(port)).body;
    if (body === wanted) return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return body;
}
