// The options that change the machine: sysctl, logrotate_config,
// package_status, source and key. Files land under a temporary root and the
// commands the charm would run (sysctl, dpkg, apt-get) are recorded.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ConfigError } from "../../src/lib/errors.js";
import { parseAptSource } from "../../src/system/aptSource.js";
import {
  LOGROTATE_HEADER,
  PACKAGED_LOGROTATE,
  logrotateContent,
} from "../../src/system/logrotate.js";
import { packageSelection } from "../../src/system/packageStatus.js";
import { sysctlFile } from "../../src/system/sysctl.js";
import { type CharmUnit, startCharmUnit } from "../helpers/charmUnit.js";

const KEY =
  "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGExample\n-----END PGP PUBLIC KEY BLOCK-----";

describe("sysctlFile", () => {
  it("writes one key=value line per entry", () => {
    expect(sysctlFile("{ net.ipv4.tcp_max_syn_backlog : 65536, net.core.somaxconn: 4096 }")).toBe(
      "# Written by the haproxy charm from its sysctl option.\n" +
        "net.ipv4.tcp_max_syn_backlog=65536\nnet.core.somaxconn=4096\n",
    );
  });

  it.each(["", "{}", "   "])("has nothing to write for %j", (text) => {
    expect(sysctlFile(text)).toBeUndefined();
  });

  it.each([
    ["{ broken", /not valid YAML/],
    ["- a list", /YAML map/],
    ["{ 'bad key;rm': 1 }", /not a sysctl key/],
    ["{ net.core.somaxconn: { nested: 1 } }", /one line of text/],
  ])("refuses %j", (text, problem) => {
    expect(() => sysctlFile(text)).toThrow(ConfigError);
    expect(() => sysctlFile(text)).toThrow(problem);
  });
});

describe("logrotateContent", () => {
  it("writes the option under a header", () => {
    expect(logrotateContent("/var/log/haproxy.log { weekly }", "old")).toBe(
      `${LOGROTATE_HEADER}/var/log/haproxy.log { weekly }\n`,
    );
  });
  it("leaves the file alone when the option is emptied", () => {
    expect(logrotateContent("", "whatever was there\n")).toBeUndefined();
    expect(logrotateContent("", undefined)).toBeUndefined();
  });
  it("restores the package's file over an empty one", () => {
    expect(logrotateContent("", "")).toBe(PACKAGED_LOGROTATE);
  });
});

describe("packageSelection", () => {
  it.each(["install", "hold", " hold "])("accepts %j", (value) => {
    expect(["install", "hold"]).toContain(packageSelection(value));
  });
  it.each(["purge", "", "Hold"])("refuses %j", (value) => {
    expect(() => packageSelection(value)).toThrow(/install or hold/);
  });
});

describe("parseAptSource", () => {
  it.each([
    ["", "", { source: { kind: "none" } }],
    ["backports", "", { source: { kind: "backports" } }],
    ["ppa:vbernat/haproxy-2.8", "", { source: { kind: "ppa", ppa: "ppa:vbernat/haproxy-2.8" } }],
    [
      "deb http://mirror.example/ubuntu noble main",
      "",
      { source: { kind: "deb", line: "deb http://mirror.example/ubuntu noble main" } },
    ],
    [
      "http://mirror.example/ubuntu noble main",
      KEY,
      {
        source: { kind: "deb", line: "deb http://mirror.example/ubuntu noble main" },
        key: `${KEY}\n`,
      },
    ],
  ])("reads %j", (source, key, expected) => {
    expect(parseAptSource(source, key)).toEqual(expected);
  });

  it.each([
    ["cloud:noble-caracal", "", /Cloud Archive/],
    ["ppa:no-name", "", /ppa:<owner>\/<name>/],
    ["some words", "", /not backports/],
    ["http://only-a-uri", "", /not backports/],
    ["", "0x1234ABCD", /ASCII-armored/],
  ])("refuses source %j key %j", (source, key, problem) => {
    expect(() => parseAptSource(source, key)).toThrow(problem);
  });
});

describe("machine options on a unit", () => {
  let unit: CharmUnit;

  beforeEach(async () => {
    unit = await startCharmUnit({ backends: 1 });
  });
  afterEach(async () => {
    await unit.cleanup();
  });

  it("writes the sysctl file and applies it, once", async () => {
    await unit.configure({ sysctl: "{ net.core.somaxconn: 4096 }" });
    const file = unit.paths.system.sysctlConfig;
    expect(await readFile(file, "utf8")).toContain("net.core.somaxconn=4096\n");
    expect(unit.host.commands).toContain(`sysctl -p ${file}`);
    unit.host.commands.length = 0;
    await unit.configure({});
    expect(unit.host.commands.filter((command) => command.startsWith("sysctl"))).toEqual([]);
  });

  it("blocks on an invalid option, keeps serving, and unblocks when it is fixed", async () => {
    await unit.configure({ sysctl: "{ broken" });
    expect(unit.tools.status).toEqual({
      status: "blocked",
      message: expect.stringContaining("config option sysctl: not valid YAML"),
    });
    expect(await unit.haproxy.isRunning()).toBe(true);
    // A later hook of another kind still reports it.
    await unit.hook("reverseproxy-relation-changed", {
      JUJU_RELATION_ID: "reverseproxy:1",
      JUJU_REMOTE_UNIT: "web/0",
    });
    expect(unit.tools.status?.status).toBe("blocked");
    await unit.configure({ sysctl: "" });
    expect(unit.tools.status).toEqual({ status: "active", message: "Unit is ready" });
  });

  it("holds the haproxy package for package_status=hold, and only when it is not held", async () => {
    await unit.configure({ package_status: "hold" });
    expect(unit.host.commands).toContain("dpkg --set-selections <<< haproxy hold");
    unit.host.selection = "hold";
    unit.host.commands.length = 0;
    await unit.configure({});
    expect(unit.host.commands).toEqual(["dpkg --get-selections haproxy"]);
  });

  it("replaces the logrotate file when logrotate_config is set", async () => {
    const file = unit.paths.system.logrotateConfig;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, "packaged\n");
    await unit.configure({});
    expect(await readFile(file, "utf8")).toBe("packaged\n");
    await unit.configure({ logrotate_config: "/var/log/haproxy.log {\n    weekly\n}" });
    expect(await readFile(file, "utf8")).toBe(
      `${LOGROTATE_HEADER}/var/log/haproxy.log {\n    weekly\n}\n`,
    );
  });

  it("adds an apt source with its key, updates and upgrades haproxy, once", async () => {
    await unit.configure({ source: "deb http://mirror.example/ubuntu noble main", key: KEY });
    const apt = unit.paths.system.apt;
    expect(await readFile(path.join(apt, "sources.list.d", "haproxy-charm.list"), "utf8")).toBe(
      "deb http://mirror.example/ubuntu noble main\n",
    );
    expect(await readFile(path.join(apt, "trusted.gpg.d", "haproxy-charm.asc"), "utf8")).toBe(
      `${KEY}\n`,
    );
    const aptCommands = () => unit.host.commands.filter((command) => command.startsWith("apt"));
    expect(aptCommands()).toEqual([
      "apt-get -o DPkg::Lock::Timeout=600 update -q",
      "apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends haproxy",
    ]);
    unit.host.commands.length = 0;
    await unit.configure({});
    expect(aptCommands()).toEqual([]);
  });

  it("swaps one PPA for another", async () => {
    await unit.configure({ source: "ppa:team/haproxy-a" });
    await unit.configure({ source: "ppa:team/haproxy-b" });
    const ppaCommands = unit.host.commands.filter((c) => c.startsWith("add-apt-repository"));
    expect(ppaCommands).toEqual([
      "add-apt-repository --yes ppa:team/haproxy-a",
      "add-apt-repository --remove --yes ppa:team/haproxy-a",
      "add-apt-repository --yes ppa:team/haproxy-b",
    ]);
  });

  it("runs no apt command when source and key were never set", async () => {
    await unit.configure({});
    expect(unit.host.commands.filter((command) => command.startsWith("apt"))).toEqual([]);
  });
});
