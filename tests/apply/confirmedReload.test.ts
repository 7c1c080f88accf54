// A reload that haproxy did not load, against a real haproxy of each version:
// a `bind` on an address the unit does not hold passes `haproxy -c` but
// cannot be loaded. The apply step says so with haproxy's reason, the old
// worker keeps serving the old file, no server change goes in at run time
// meanwhile, and the reload is tried again until a file loads.
import { access, rm } from "node:fs/promises";

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { type ApplyEnvironment, applyPlan } from "../../src/apply/applyPlan.js";
import { reloadConfirmed } from "../../src/apply/confirmedReload.js";
import { stateFilePath } from "../../src/stateFiles.js";
import { firstHaproxyError } from "../../src/apply/haproxyCheck.js";
import type { ServiceManager } from "../../src/apply/serviceManager.js";
import { NotLoadedError } from "../../src/lib/errors.js";
import { askAdminSocket } from "../../src/metrics/statsSocket.js";
import { adminSocketPath } from "../../src/model/runtimeFiles.js";
import type { Paths } from "../../src/paths.js";
import { findFreePort, type HaproxyProcess, haproxyIn } from "../helpers/haproxyProcess.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { type Backend, answeringBackends, startBackend } from "../helpers/httpBackends.js";
import { temporaryPaths } from "../helpers/temporaryPaths.js";

/** An address no interface here holds (TEST-NET-1); the kernel refuses to bind it. */
const FOREIGN_ADDRESS = "192.0.2.1";

let units: [Backend, Backend];

beforeAll(async () => {
  units = [await startBackend("app-0"), await startBackend("app-1")];
});
afterAll(async () => {
  await Promise.all(units.map((unit) => unit.close()));
});

describe.each(haproxyVersions)("a reload haproxy $version does not load", (version) => {
  let root: string;
  let paths: Paths;
  let haproxy: HaproxyProcess;
  let webPort: number;
  let foreignPort: number;

  beforeEach(async () => {
    ({ root, paths } = await temporaryPaths("confirmed-reload-"));
    webPort = await findFreePort();
    foreignPort = await findFreePort();
    haproxy = haproxyIn(paths, { probePorts: [webPort], haproxyBinary: version.binary });
  });

  afterEach(async () => {
    await haproxy.stop();
    await rm(root, { recursive: true, force: true });
  });

  const environment = (service: ServiceManager = haproxy): ApplyEnvironment => ({
    paths,
    haproxyBinary: version.binary,
    service,
    fileOwner: "haproxy",
  });
  const ask = (command: string) => askAdminSocket(adminSocketPath(paths.haproxyRun), command);
  const workerPid = async () => /^Pid: (\d+)$/m.exec(await ask("show info"))?.[1];
  const markerLeft = () =>
    access(stateFilePath(paths.charmState, "reloadPending")).then(
      () => true,
      () => false,
    );

  /** The charm's shape; `foreign` adds a frontend bound where this machine cannot bind. */
  function config(servers: readonly Backend[], { foreign = false } = {}) {
    const haproxyCfg = [
      "global",
      `    stats socket ${adminSocketPath(paths.haproxyRun)} mode 600 level admin expose-fd listeners`,
      "defaults",
      "    mode http",
      "    timeout connect 2s",
      "    timeout client 5s",
      "    timeout server 5s",
      "frontend web",
      `    bind 127.0.0.1:${webPort}`,
      "    default_backend app",
      ...(foreign
        ? [
            "frontend elsewhere",
            `    bind ${FOREIGN_ADDRESS}:${foreignPort}`,
            "    default_backend app",
          ]
        : []),
      "backend app",
      "    balance roundrobin",
      ...servers.map((unit) => `    server ${unit.name} 127.0.0.1:${unit.port}`),
      "",
    ].join("\n");
    return { haproxyCfg, files: [] };
  }

  it("says why, keeps the old worker serving and the reload pending until a file loads", async () => {
    const [first, second] = units;
    await applyPlan(config([first]), environment());
    const oldWorker = await workerPid();

    // `haproxy -c` takes the foreign bind; loading it fails.
    const refused = applyPlan(config([first], { foreign: true }), environment());
    await expect(refused).rejects.toThrow(NotLoadedError);
    const error = (await refused.catch((caught: unknown) => caught)) as Error;
    expect(firstHaproxyError(error.message)).toMatch(
      new RegExp(`cannot bind socket .*\\[${FOREIGN_ADDRESS}:${foreignPort}\\]`),
    );
    expect(await markerLeft()).toBe(true);
    expect(await haproxy.isRunning()).toBe(true);
    expect(await workerPid()).toBe(oldWorker);
    expect(await answeringBackends(webPort, 4)).toEqual(["app-0"]);

    // A join meanwhile is not made at run time against a file haproxy never loaded:
    // the reload is tried again, and fails again.
    const reloadsBefore = haproxy.reloads;
    await expect(
      applyPlan(config([first, second], { foreign: true }), environment()),
    ).rejects.toThrow(/cannot bind socket/);
    expect(haproxy.reloads).toBe(reloadsBefore + 1);
    expect(await markerLeft()).toBe(true);
    expect(await workerPid()).toBe(oldWorker);
    expect(await answeringBackends(webPort, 4)).toEqual(["app-0"]);

    // So is a hook with nothing new.
    await expect(
      applyPlan(config([first, second], { foreign: true }), environment()),
    ).rejects.toThrow(/cannot bind socket/);
    expect(haproxy.reloads).toBe(reloadsBefore + 2);

    // The foreign bind gone, the reload loads: a new worker serves the new file.
    const fixed = await applyPlan(config([first, second]), environment());
    expect(fixed.action).toBe("reloaded");
    expect(await markerLeft()).toBe(false);
    expect(await workerPid()).not.toBe(oldWorker);
    expect(await answeringBackends(webPort, 4)).toEqual(["app-0", "app-1"]);
    expect(haproxy.starts).toBe(1);
  });

  /** haproxy itself, but with its output out of reach, as with an unreadable journal. */
  const withoutOutput = (): ServiceManager => ({
    isRunning: () => haproxy.isRunning(),
    start: () => haproxy.start(),
    stop: () => haproxy.stop(),
    reload: () => haproxy.reload(),
    reloadOutput: async () => "",
  });

  it("takes a new worker on the admin socket for a reload that loaded", async () => {
    await applyPlan(config([units[0]]), environment());
    const oldWorker = await workerPid();
    await reloadConfirmed(withoutOutput(), ask, 5000);
    expect(await workerPid()).not.toBe(oldWorker);
  });

  it("with neither a new worker nor haproxy's word, reports the reload failed once its time is up", async () => {
    await applyPlan(config([units[0]]), environment());
    await applyPlan(config([units[0]], { foreign: true }), environment()).catch(() => undefined);
    const began = Date.now();
    await expect(reloadConfirmed(withoutOutput(), ask, 2000)).rejects.toThrow(
      "haproxy did not load its new configuration within 2 s",
    );
    expect(Date.now() - began).toBeGreaterThanOrEqual(2000);
    expect(await answeringBackends(webPort, 2)).toEqual(["app-0"]);
  });
});
