// keepalived.conf and the check script as rendered, checked by keepalived
// itself (`keepalived -t`, its configuration test mode), and the check script
// run against a real listener.
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { type Server, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { PlacedService } from "../../src/model/types.js";
import {
  probedListeners,
  renderCheckScript,
  renderKeepalivedConfig,
} from "../../src/vip/keepalivedConfig.js";
import { type VipPlan, planVip } from "../../src/vip/vipPlan.js";

const run = promisify(execFile);

const plan: VipPlan = {
  device: "eth0",
  sourceAddress: "10.86.0.11",
  peerAddresses: ["10.86.0.10", "10.86.0.12"],
  priority: 230,
  routerId: 42,
  addresses: ["10.86.0.100/16", "10.86.0.101/32"],
  bareAddresses: ["10.86.0.100", "10.86.0.101"],
  ignoredPeers: [],
};

let dir: string;
// keepalived -t checks that the interface exists and is no loopback: a network
// namespace of the test's own with an `eth0`, as on a unit.
const namespace = `keepalived-t-${process.pid}`;

beforeAll(async () => {
  // keepalived's script security wants no directory on the way writable by others.
  dir = await mkdtemp(path.join(tmpdir(), "keepalived-"));
  await chmod(dir, 0o700);
  await run("ip", ["netns", "add", namespace]);
  await run("ip", ["-n", namespace, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"]);
  await run("ip", ["-n", namespace, "addr", "add", "10.86.0.11/16", "dev", "eth0"]);
  await run("ip", ["-n", namespace, "link", "set", "eth0", "up"]);
});
afterAll(async () => {
  await run("ip", ["netns", "del", namespace]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function keepalivedTest(config: string): Promise<{ code: number; output: string }> {
  const file = path.join(dir, "keepalived.conf");
  await writeFile(file, config);
  try {
    const { stdout, stderr } = await run("ip", [
      "netns",
      "exec",
      namespace,
      "keepalived",
      "-t",
      "-l",
      "-f",
      file,
    ]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

describe("renderKeepalivedConfig", () => {
  const script = () => path.join(dir, "haproxy-charm-check");
  const config = () => renderKeepalivedConfig(plan, "haproxy/1", script(), true);

  it("holds one BACKUP nopreempt instance, unicast, with the check tracked", () => {
    const text = config();
    expect(text).toContain("  state BACKUP\n  nopreempt\n");
    expect(text).toContain("  virtual_router_id 42\n  priority 230\n  advert_int 1\n");
    expect(text).toContain(
      "  unicast_src_ip 10.86.0.11\n  check_unicast_src\n  unicast_peer {\n    10.86.0.10\n    10.86.0.12\n  }\n",
    );
    expect(text).toContain("    10.86.0.100/16 dev eth0\n    10.86.0.101/32 dev eth0\n");
    expect(text).toContain("  track_script {\n    haproxy_check\n  }\n");
    expect(text).toContain("  router_id haproxy-1\n");
    expect(text).not.toMatch(/authentication/);
  });

  it.each([true, false])(
    "passes keepalived's configuration test (first start: %s)",
    async (firstStart) => {
      await writeFile(script(), renderCheckScript([], "/run/haproxy.pid"), { mode: 0o755 });
      const result = await keepalivedTest(
        renderKeepalivedConfig(plan, "haproxy/1", script(), firstStart),
      );
      expect(result.output).not.toMatch(/unknown keyword|error/i);
      expect(result.code).toBe(0);
    },
  );

  it("delays taking the address only on keepalived's first start", () => {
    expect(renderKeepalivedConfig(plan, "haproxy/1", script(), true)).toContain(
      "  vrrp_startup_delay 30\n",
    );
    expect(renderKeepalivedConfig(plan, "haproxy/1", script(), false)).not.toContain(
      "vrrp_startup_delay",
    );
  });

  it("never lets a peer's relation data add to the file", async () => {
    await writeFile(script(), renderCheckScript([], "/run/haproxy.pid"), { mode: 0o755 });
    const injected =
      "10.86.0.13\n  }\n  notify_master /bin/false\n  unicast_peer {\n    10.86.0.14";
    const fromPeers = planVip(
      { addresses: [{ address: "10.86.0.100" }] },
      {
        unitName: "haproxy/1",
        unitAddress: "10.86.0.11",
        interfaces: [{ device: "eth0", address: "10.86.0.11", prefix: 16, secondary: false }],
        peers: [
          { unit: "haproxy/0", address: "10.86.0.10" },
          { unit: "haproxy/2", address: injected },
        ],
      },
    );
    const text = renderKeepalivedConfig(fromPeers, "haproxy/1", script(), false);
    expect(text).toContain("  unicast_peer {\n    10.86.0.10\n  }\n");
    expect(text).not.toContain("notify_master");
    const result = await keepalivedTest(text);
    expect(result.output).not.toMatch(/unknown keyword|error/i);
    expect(result.code).toBe(0);
  });

  it("is a test that fails on a broken file", async () => {
    const result = await keepalivedTest(config().replace("advert_int 1", "advert_intt 1"));
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/Unknown keyword 'advert_intt'/);
  });
});

describe("probedListeners", () => {
  const service = (host: string, port: number) => ({ host, port }) as PlacedService;

  it("probes wildcard listeners on loopback and the unit's own, not the VIP's", () => {
    expect(
      probedListeners(
        [
          service("0.0.0.0", 80),
          service("0.0.0.0", 80),
          service("10.86.0.11", 8080),
          service("10.86.0.100", 443),
          service("::", 81),
        ],
        "10.86.0.11",
      ),
    ).toEqual([
      { host: "127.0.0.1", port: 80 },
      { host: "10.86.0.11", port: 8080 },
      { host: "::1", port: 81 },
    ]);
  });
});

describe("renderCheckScript", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => {
    server.close();
  });

  async function check(listenerPort: number, pid: string): Promise<number> {
    const pidFile = path.join(dir, "haproxy.pid");
    await writeFile(pidFile, pid);
    const file = path.join(dir, "check");
    await writeFile(file, renderCheckScript([{ host: "127.0.0.1", port: listenerPort }], pidFile), {
      mode: 0o755,
    });
    return run(file).then(
      () => 0,
      (error: { code: number }) => error.code,
    );
  }

  it("passes while haproxy runs and its listener accepts", async () => {
    expect(await check(port, String(process.pid))).toBe(0);
  });

  it("fails when the listener refuses", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const freePort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await check(freePort, String(process.pid))).toBe(1);
  });

  it("fails while the unit is not yet ready to hold the address", async () => {
    const file = path.join(dir, "check-not-ready");
    await writeFile(
      file,
      renderCheckScript([{ host: "127.0.0.1", port }], path.join(dir, "haproxy.pid"), false),
      { mode: 0o755 },
    );
    await writeFile(path.join(dir, "haproxy.pid"), String(process.pid));
    await expect(run(file)).rejects.toMatchObject({ code: 1 });
  });

  it("fails when haproxy's pid is gone", async () => {
    expect(await check(port, "999999999")).toBe(1);
  });
});
