// Server changes without a reload, against a real haproxy of each version:
// units joining and leaving change the running worker through the admin
// socket; the file still says the same, a forced reload keeps what the
// runtime API did (and the servers' health), and anything haproxy refuses
// falls back to a reload.
import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type ApplyEnvironment, applyPlan } from "../../src/apply/applyPlan.js";
import { applyServerDeltas } from "../../src/apply/runtimeServers.js";
import { askAdminSocket } from "../../src/metrics/statsSocket.js";
import type { Paths } from "../../src/paths.js";
import { takesCookieOnAddedServers } from "../helpers/haproxyCapabilities.js";
import { findFreePort, type HaproxyProcess, haproxyIn } from "../helpers/haproxyProcess.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { temporaryPaths } from "../helpers/temporaryPaths.js";

interface Unit {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  /** `/slow` requests received and not yet answered. */
  readonly slowInFlight: () => number;
}

/** A web server answering with its name; `/slow` answers after `slowMs`. */
async function startUnit(name: string, slowMs = 1500): Promise<Unit> {
  let slowInFlight = 0;
  const server = createServer((req, res) => {
    const answer = () => res.end(name);
    if (req.url === "/slow") {
      slowInFlight += 1;
      setTimeout(() => {
        slowInFlight -= 1;
        answer();
      }, slowMs);
    } else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    server,
    slowInFlight: () => slowInFlight,
  };
}

/** Until `units` hold `count` `/slow` requests between them, for at most 5 s. */
async function untilSlowInFlight(units: readonly Unit[], count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (units.reduce((sum, unit) => sum + unit.slowInFlight(), 0) < count) {
    if (Date.now() > deadline) throw new Error(`${count} /slow requests never reached the units`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A unit that never answers: its listener's queue is full and its process
 * stopped, so a new connection waits, as behind a firewall that drops it.
 */
async function startSilentUnit(): Promise<{ port: number; close: () => void }> {
  // Node takes a backlog of 0 for its default; Linux queues backlog + 1 connections.
  const script =
    "require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, " +
    "function () { console.log(this.address().port); })";
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) =>
    child.stdout.once("data", (data: Buffer) => resolve(Number(String(data).trim()))),
  );
  child.kill("SIGSTOP");
  const fillers = [1, 2].map(() => connect({ host: "127.0.0.1", port }));
  await Promise.all(
    fillers.map((filler) => new Promise((resolve) => filler.once("connect", resolve))),
  );
  return {
    port,
    close: () => {
      fillers.forEach((filler) => filler.destroy());
      child.kill("SIGKILL");
    },
  };
}

function get(port: number, path = "/", cookie?: string) {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { connection: "close", ...(cookie !== undefined && { cookie }) },
  }).then(async (response) => ({
    status: response.status,
    body: await response.text(),
    cookie: response.headers.get("set-cookie") ?? undefined,
  }));
}

describe.each(haproxyVersions)("servers change without a reload on haproxy $version", (version) => {
  let root: string;
  let paths: Paths;
  let haproxy: HaproxyProcess;
  let webPort: number;
  let units: Unit[];

  beforeEach(async () => {
    ({ root, paths } = await temporaryPaths("runtime-servers-"));
    units = await Promise.all(["app-0", "app-1", "app-2"].map((name) => startUnit(name)));
    webPort = await findFreePort();
    haproxy = haproxyIn(paths, { probePorts: [webPort], haproxyBinary: version.binary });
  });

  afterEach(async () => {
    await haproxy.stop();
    await Promise.all(units.map((unit) => new Promise((resolve) => unit.server.close(resolve))));
    await rm(root, { recursive: true, force: true });
  });

  const environment = (): ApplyEnvironment => ({
    paths,
    haproxyBinary: version.binary,
    service: haproxy,
    fileOwner: "haproxy",
  });
  const ask = (command: string) => askAdminSocket(join(paths.haproxyRun, "admin.sock"), command);

  /** The charm's shape: admin socket, state file, one frontend, one backend of `servers`. */
  function config(
    servers: readonly string[],
    backend: { balance?: string; cookie?: boolean; timeoutServer?: string } = {},
  ): { haproxyCfg: string; files: [] } {
    const haproxyCfg = [
      "global",
      `    stats socket ${paths.haproxyRun}/admin.sock mode 600 level admin expose-fd listeners`,
      `    server-state-file ${paths.haproxyRun}/server-state`,
      "",
      "defaults",
      "    mode http",
      "    load-server-state-from-file global",
      "    timeout connect 2s",
      "    timeout client 10s",
      `    timeout server ${backend.timeoutServer ?? "10s"}`,
      "",
      "frontend web",
      `    bind 127.0.0.1:${webPort}`,
      "    default_backend app",
      "",
      "backend app",
      `    balance ${backend.balance ?? "leastconn"}`,
      ...(backend.cookie === true ? ["    cookie SRVNAME insert"] : []),
      ...servers.map((line) => `    ${line}`),
      "",
    ].join("\n");
    return { haproxyCfg, files: [] };
  }
  const serverLine = (unit: Unit, index: number, options = "maxconn 100 check inter 200") =>
    `server ${unit.name} 127.0.0.1:${unit.port} ${options.replace("{i}", String(index))}`;
  const workerPids = async () => (await ask("show info")).match(/^Pid: (\d+)/m)?.[1];

  /** Answers until `name` answers, for at most 5 s (a new server passes its checks first). */
  async function eventuallyServedBy(name: string): Promise<boolean> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if ((await get(webPort)).body === name) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  async function serverStates(): Promise<
    Map<string, { operational: string; admin: string; port: string }>
  > {
    const rows = (await ask("show servers state app"))
      .split("\n")
      .filter((line) => /^\d+ /.test(line))
      .map((line) => line.split(" "));
    return new Map(
      rows.map((row) => [
        row[3] as string,
        { operational: row[5] as string, admin: row[6] as string, port: row[18] as string },
      ]),
    );
  }

  it("a joining unit is added to the running worker, which then sends it traffic", async () => {
    const [first, second, third] = units as [Unit, Unit, Unit];
    await applyPlan(config([serverLine(first, 0), serverLine(second, 1)]), environment());
    const worker = await workerPids();

    const joined = config([serverLine(first, 0), serverLine(second, 1), serverLine(third, 2)]);
    const result = await applyPlan(joined, environment());

    expect(result.action).toBe("updated");
    expect(result.runtimeFallback).toBeUndefined();
    expect(haproxy.reloads).toBe(0);
    expect(await workerPids()).toBe(worker);
    expect(await eventuallyServedBy("app-2")).toBe(true);
    // The file says what the worker does: a restart would serve the same three.
    expect(await readFile(paths.haproxyConfig, "utf8")).toBe(joined.haproxyCfg);
    expect([...(await serverStates()).keys()]).toEqual(["app-0", "app-1", "app-2"]);
  });

  it("a dead joining unit gets no traffic: it starts DOWN and must pass its checks", async () => {
    const [first] = units as [Unit];
    const deadPort = await findFreePort();
    await applyPlan(config([serverLine(first, 0)]), environment());

    const dead = `server app-9 127.0.0.1:${deadPort} maxconn 100 check inter 200`;
    expect((await applyPlan(config([serverLine(first, 0), dead]), environment())).action).toBe(
      "updated",
    );
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(webPort)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect((await serverStates()).get("app-9")?.operational).toBe("0");
  });

  it("a departing unit is drained, its request in flight answered, then removed", async () => {
    const [first, second] = units as [Unit, Unit];
    await applyPlan(config([serverLine(first, 0), serverLine(second, 1)]), environment());
    // Requests in flight on both servers (leastconn sends the second to the idle one).
    const firstRequest = get(webPort, "/slow");
    await untilSlowInFlight(units, 1);
    const inFlight = Promise.all([firstRequest, get(webPort, "/slow")]);
    await untilSlowInFlight(units, 2);

    const result = await applyPlan(config([serverLine(first, 0)]), environment());

    expect(result.runtimeFallback).toBeUndefined();
    expect(result.action).toBe("updated");
    expect(haproxy.reloads).toBe(0);
    const answers = await inFlight;
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(answers.map((answer) => answer.body).sort()).toEqual(["app-0", "app-1"]);
    expect([...(await serverStates()).keys()]).toEqual(["app-0"]);
    const after = await Promise.all(Array.from({ length: 10 }, () => get(webPort)));
    expect(new Set(after.map((answer) => answer.body))).toEqual(new Set(["app-0"]));
  });

  it("a unit whose request outlasts the drain bound is left to an old worker: a reload", async () => {
    const [first, second] = units as [Unit, Unit];
    const slow = await startUnit("app-slow", 5000);
    units.push(slow);
    await applyPlan(config([serverLine(first, 0), serverLine(slow, 1)]), environment());
    const firstRequest = get(webPort, "/slow");
    await untilSlowInFlight(units, 1);
    const inFlight = Promise.all([firstRequest, get(webPort, "/slow")]);
    await untilSlowInFlight(units, 2);

    const result = await applyPlan(
      config([serverLine(first, 0), serverLine(second, 1)]),
      environment(),
    );

    expect(result.action).toBe("reloaded");
    expect(result.runtimeFallback).toMatch(/del server app\/app-slow/);
    // The old worker finishes the request; nothing is cut.
    expect((await inFlight).map((answer) => answer.status)).toEqual([200, 200]);
  });

  it("after a forced reload, servers added at run time are there and keep their health", async () => {
    const [first] = units as [Unit];
    const deadPort = await findFreePort();
    // Checks every 30 s: after the reload, no check has run yet when we look.
    const slowChecks = "maxconn 100 check inter 30s";
    const dead = `server app-9 127.0.0.1:${deadPort} ${slowChecks}`;
    await applyPlan(config([serverLine(first, 0, slowChecks)]), environment());
    await applyPlan(config([serverLine(first, 0, slowChecks), dead]), environment());
    expect((await serverStates()).get("app-9")?.operational).toBe("0");

    // A change only a reload can make.
    const reloaded = await applyPlan(
      config([serverLine(first, 0, slowChecks), dead], { timeoutServer: "20s" }),
      environment(),
    );

    expect(reloaded.action).toBe("reloaded");
    const states = await serverStates();
    expect([...states.keys()]).toEqual(["app-0", "app-9"]);
    // Without the saved state a fresh worker would call it UP (2) until a check failed.
    expect(states.get("app-9")?.operational).toBe("0");
    expect(states.get("app-0")?.operational).toBe("2");
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(webPort)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
  });

  it("the saved state never carries an old port over the file's", async () => {
    const [first, second] = units as [Unit, Unit];
    await applyPlan(config([serverLine(first, 0)]), environment());
    // app-0 moves to app-1's port in the same change that forces a reload.
    const moved = `server app-0 127.0.0.1:${second.port} maxconn 100 check inter 200`;
    const result = await applyPlan(config([moved], { timeoutServer: "20s" }), environment());

    expect(result.action).toBe("reloaded");
    expect((await serverStates()).get("app-0")?.port).toBe(String(second.port));
    expect(await eventuallyServedBy("app-1")).toBe(true);
  });

  it("a server given by name is resolved again at a reload, not taken from the saved state", async () => {
    const [first] = units as [Unit];
    const named = `server app-0 localhost:${first.port} maxconn 100 check inter 200`;
    await applyPlan(config([named]), environment());
    expect(await eventuallyServedBy("app-0")).toBe(true);
    // The address the name had at start, which DNS has changed since: nothing listens there.
    await ask(`set server app/app-0 addr 127.0.0.2 port ${first.port}`);

    const result = await applyPlan(config([named], { timeoutServer: "20s" }), environment());

    expect(result.action).toBe("reloaded");
    expect(await eventuallyServedBy("app-0")).toBe(true);
  });

  it("a server option haproxy refuses at run time falls back to a reload that serves it", async () => {
    const [first, second] = units as [Unit, Unit];
    await applyPlan(config([serverLine(first, 0)]), environment());

    // `no-check` is valid in a file and refused by `add server` on every version.
    const result = await applyPlan(
      config([serverLine(first, 0), serverLine(second, 1, "maxconn 100 no-check")]),
      environment(),
    );

    expect(result.action).toBe("reloaded");
    expect(result.runtimeFallback).toMatch(
      /add server app\/app-1.*not accepted for dynamic server/s,
    );
    expect(await eventuallyServedBy("app-1")).toBe(true);
  });

  it("the default service's cookies: kept at run time where haproxy takes them, else a reload", async () => {
    const [first, second] = units as [Unit, Unit];
    const options = "maxconn 100 cookie S{i} check inter 200";
    await applyPlan(config([serverLine(first, 0, options)], { cookie: true }), environment());

    const result = await applyPlan(
      config([serverLine(first, 0, options), serverLine(second, 1, options)], { cookie: true }),
      environment(),
    );

    if (!(await takesCookieOnAddedServers(version.binary))) {
      expect(result.action).toBe("reloaded");
      expect(result.runtimeFallback).toMatch(/'cookie' option is not accepted/);
    } else {
      expect(result.action).toBe("updated");
    }
    expect(await eventuallyServedBy("app-1")).toBe(true);
    // Stickiness: the new server's cookie brings a client back to it.
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => get(webPort, "/", "SRVNAME=S1")),
    );
    expect(new Set(answers.map((answer) => answer.body))).toEqual(new Set(["app-1"]));
  });

  // haproxy's CLI runs `a ;b` as two commands, even inside quotes a file takes.
  const injecting = `agent-send "x;set server app/app-0 state maint;"`;

  it("a server whose options hold `;` joins by a reload: nothing else changes", async () => {
    const [first, second, third] = units as [Unit, Unit, Unit];
    await applyPlan(config([serverLine(first, 0), serverLine(second, 1)]), environment());

    const options = `maxconn 100 check inter 200 ${injecting}`;
    const result = await applyPlan(
      config([serverLine(first, 0), serverLine(second, 1), serverLine(third, 2, options)]),
      environment(),
    );

    expect(result.action).toBe("reloaded");
    expect(await eventuallyServedBy("app-2")).toBe(true);
    expect((await serverStates()).get("app-0")).toMatchObject({ operational: "2", admin: "0" });
    expect(await eventuallyServedBy("app-0")).toBe(true);
    // Decided before anything was sent: not a runtime change that failed.
    expect(result.runtimeFallback).toBeUndefined();
  });

  it("a delta holding `;` is refused before any command is sent", async () => {
    const [first, second, third] = units as [Unit, Unit, Unit];
    await applyPlan(config([serverLine(first, 0), serverLine(second, 1)]), environment());
    const joining = {
      name: "app-2",
      address: "127.0.0.1",
      port: third.port,
      options: ["check", ...injecting.split(" ")],
    };
    const kept = [first, second].map((unit) => ({
      name: unit.name,
      address: "127.0.0.1",
      port: unit.port,
      options: [],
    }));
    const delta = {
      backend: "app",
      add: [joining],
      update: [],
      remove: [],
      servers: [...kept, joining],
    };

    await expect(applyServerDeltas(ask, [delta])).rejects.toThrow(/"x;set holds "/);
    const states = await serverStates();
    expect([...states.keys()]).toEqual(["app-0", "app-1"]);
    expect(states.get("app-0")).toMatchObject({ operational: "2", admin: "0" });
  });

  it("a backup server added before another reloads: the file's first backup takes the traffic", async () => {
    const [first, second] = units as [Unit, Unit];
    const backup = "maxconn 100 check inter 200 backup";
    await applyPlan(config([serverLine(second, 1, backup)]), environment());

    const result = await applyPlan(
      config([serverLine(first, 0, backup), serverLine(second, 1, backup)]),
      environment(),
    );

    // At run time haproxy would add app-0 after app-1, which would keep the traffic.
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(webPort)));
    expect(new Set(answers.map((answer) => answer.body))).toEqual(new Set(["app-0"]));
    expect(result.action).toBe("reloaded");
  });

  it("a server the file had disabled is put back at run time, and stays back after a reload", async () => {
    const [first, second] = units as [Unit, Unit];
    const disabled = "maxconn 100 check inter 200 disabled";
    await applyPlan(config([serverLine(first, 0), serverLine(second, 1, disabled)]), environment());

    const enabled = config([serverLine(first, 0), serverLine(second, 1)]);
    const result = await applyPlan(enabled, environment());

    expect(result.runtimeFallback).toBeUndefined();
    expect(result.action).toBe("updated");
    expect(await eventuallyServedBy("app-1")).toBe(true);
    // The saved state carries the file's old `disabled` mark; the new file wins.
    const reloaded = await applyPlan(
      config([serverLine(first, 0), serverLine(second, 1)], { timeoutServer: "20s" }),
      environment(),
    );
    expect(reloaded.action).toBe("reloaded");
    expect(await eventuallyServedBy("app-1")).toBe(true);
  });

  it("a departing unit's drain bound starts at its removal, not before the joins", async () => {
    const [first] = units as [Unit];
    const slow = await startUnit("app-slow", 4500);
    units.push(slow);
    const silent = await Promise.all([1, 2, 3].map(() => startSilentUnit()));
    try {
      await applyPlan(config([serverLine(first, 0), serverLine(slow, 1)]), environment());
      const firstRequest = get(webPort, "/slow");
      await new Promise((resolve) => setTimeout(resolve, 100));
      const inFlight = Promise.all([firstRequest, get(webPort, "/slow")]);
      await new Promise((resolve) => setTimeout(resolve, 100));

      // Three joiners that never answer take a second's probe each before app-slow leaves.
      const joiners = silent.map(
        (unit, i) => `server app-${5 + i} 127.0.0.1:${unit.port} maxconn 100 check inter 200`,
      );
      const result = await applyPlan(config([serverLine(first, 0), ...joiners]), environment());

      expect(result.runtimeFallback).toBeUndefined();
      expect(result.action).toBe("updated");
      expect((await inFlight).map((answer) => answer.status)).toEqual([200, 200]);
    } finally {
      silent.forEach((unit) => unit.close());
    }
  });

  it("weight and maintenance change in place", async () => {
    const [first, second] = units as [Unit, Unit];
    await applyPlan(config([serverLine(first, 0), serverLine(second, 1)]), environment());

    const result = await applyPlan(
      config([
        serverLine(first, 0, "maxconn 100 check inter 200 weight 20"),
        serverLine(second, 1, "maxconn 100 check inter 200 disabled"),
      ]),
      environment(),
    );

    expect(result.action).toBe("updated");
    const state = (await ask("show servers state app")).split("\n").filter((l) => /^\d+ /.test(l));
    expect(state.map((line) => line.split(" ").slice(3, 8).join(" "))).toEqual([
      expect.stringMatching(/^app-0 127\.0\.0\.1 2 0 20$/),
      expect.stringMatching(/^app-1 127\.0\.0\.1 \d (1|5) 1$/),
    ]);
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(webPort)));
    expect(new Set(answers.map((answer) => answer.body))).toEqual(new Set(["app-0"]));
  });
});
