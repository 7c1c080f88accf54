// `vip` through the hook layer, with a real haproxy: what keepalived.conf and
// the kernel setting become across hooks. keepalived and the kernel are the
// machine's: here a stand-in answers for them (keepalived itself runs in
// keepalivedConfig.test.ts and keepalivedRestart.test.ts).
import { readFile } from "node:fs/promises";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { CommandResult } from "../../src/system/hostCommands.js";
import { type CharmUnit, RecordingHostCommands, startCharmUnit } from "../helpers/charmUnit.js";

const PEER = "peer:2";
const ok = (stdout = ""): CommandResult => ({ exitCode: 0, stdout, stderr: "" });

/** The unit's machine: its addresses, keepalived.service and one kernel setting. */
class VipMachine extends RecordingHostCommands {
  keepalivedActive = false;
  nonlocalBind = "0";

  override async run(command: string, args: readonly string[], input?: string) {
    await super.run(command, args, input);
    const line = [command, ...args].join(" ");
    if (line === "ip -4 -o addr show") {
      return ok("2: eth0    inet 10.86.0.11/16 brd 10.86.255.255 scope global eth0\\ \n");
    }
    if (line === "dpkg -s keepalived") return ok("Status: install ok installed\n");
    if (line === "systemctl is-active --quiet keepalived") {
      return { ...ok(), exitCode: this.keepalivedActive ? 0 : 3 };
    }
    if (line === "systemctl start keepalived") this.keepalivedActive = true;
    if (line === "systemctl stop keepalived") this.keepalivedActive = false;
    if (line === "sysctl -n net.ipv4.ip_nonlocal_bind") return ok(`${this.nonlocalBind}\n`);
    if (command === "sysctl" && args[0] === "-p") this.nonlocalBind = "1";
    const written = /^sysctl -w net\.ipv4\.ip_nonlocal_bind=(\d+)$/.exec(line);
    if (written) this.nonlocalBind = written[1] ?? "";
    return ok();
  }
}

let unit: CharmUnit;
let machine: VipMachine;

beforeEach(async () => {
  machine = new VipMachine();
  unit = await startCharmUnit({ host: machine, backends: 1 });
  unit.tools.privateAddress = "10.86.0.11";
  // The backends listen on loopback while the unit's address is on the VIP's subnet: relation
  // data is trusted here, the VIP (not the relation data policy) is what these tests are about.
  unit.tools.config = {
    ...unit.tools.config,
    peering_mode: "active-active",
    trust_relation_data: true,
  };
  unit.tools.addUnit(PEER, "haproxy/1", { "private-address": "10.86.0.12" });
});
afterEach(() => unit.cleanup());

const keepalivedConf = () =>
  readFile(path.join(unit.paths.system.keepalived, "keepalived.conf"), "utf8");

describe("keepalived.conf from the peers", () => {
  it("leaves out a peer whose address is not IPv4, with a WARNING naming it", async () => {
    unit.tools.addUnit(PEER, "haproxy/2", {
      "private-address": "10.86.0.13\n  }\n  notify_master /tmp/x\n  unicast_peer {",
    });
    await unit.configure({ vip: "10.86.0.100" });
    expect(await keepalivedConf()).toContain("  unicast_peer {\n    10.86.0.12\n  }\n");
    expect(await keepalivedConf()).not.toContain("notify_master");
    expect(unit.tools.logs).toContainEqual({
      level: "WARNING",
      message: expect.stringMatching(
        /^vip: peer haproxy\/2 left out of keepalived\.conf: its private-address .* is not an IPv4 address$/,
      ),
    });
    expect(unit.tools.status?.status).toBe("active");
  });
});

describe("keepalived's startup delay", () => {
  it("is there for the first start only, not after a reload or a restart", async () => {
    await unit.configure({ vip: "10.86.0.100" });
    expect(machine.commands).toContain("systemctl start keepalived");
    expect(await keepalivedConf()).toMatch(/^ {2}vrrp_startup_delay 30$/m);

    await unit.hook("config-changed");
    expect(await keepalivedConf()).not.toMatch(/vrrp_startup_delay/);
    expect(machine.commands).toContain("systemctl reload keepalived");

    // keepalived died: update-status starts it with the file as it is.
    machine.keepalivedActive = false;
    machine.commands.length = 0;
    await unit.hook("update-status");
    expect(machine.commands).toContain("systemctl start keepalived");
    expect(await keepalivedConf()).not.toMatch(/vrrp_startup_delay/);

    // Set anew after being emptied, keepalived starts afresh.
    await unit.configure({ vip: "" });
    await unit.configure({ vip: "10.86.0.100" });
    expect(await keepalivedConf()).toMatch(/^ {2}vrrp_startup_delay 30$/m);
  });
});

describe("net.ipv4.ip_nonlocal_bind", () => {
  it.each(["0", "1"])("goes back to %s, its value before vip was set", async (before) => {
    machine.nonlocalBind = before;
    await unit.configure({ vip: "10.86.0.100" });
    expect(machine.nonlocalBind).toBe("1");
    await unit.configure({ vip: "10.86.0.101" });
    await unit.configure({ vip: "" });
    expect(machine.nonlocalBind).toBe(before);
    // Set again later, it remembers the value of that time.
    machine.nonlocalBind = "0";
    await unit.configure({ vip: "10.86.0.100" });
    await unit.configure({ vip: "" });
    expect(machine.nonlocalBind).toBe("0");
  });
});
