// The files Juju reads from the charm: config.yaml and metadata.yaml keep the
// old charm's contract, and dispatch plus hooks/ hand every event to the CLI.
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { load } from "js-yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CONFIG_DEFAULTS,
  DEFAULT_SERVICES,
  parseCharmConfig,
} from "../../src/config/charmConfig.js";

const CHARM_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BUNDLE = join(CHARM_DIR, "dist/haproxy-charm.mjs");

interface ConfigOption {
  type: string;
  default: unknown;
  description: string;
}

interface Endpoint {
  interface: string;
  scope?: string;
  limit?: number;
  optional?: boolean;
}

interface Metadata {
  name: string;
  series?: unknown;
  requires?: Record<string, Endpoint>;
  provides?: Record<string, Endpoint>;
  peers?: Record<string, Endpoint>;
  "extra-bindings"?: Record<string, unknown>;
}

async function readYaml<T>(file: string): Promise<T> {
  return load(await readFile(join(CHARM_DIR, file), "utf8")) as T;
}

const metadata = await readYaml<Metadata>("metadata.yaml");
const options = (await readYaml<{ options: Record<string, ConfigOption> }>("config.yaml")).options;

const ENDPOINTS = [
  ...Object.keys(metadata.requires ?? {}),
  ...Object.keys(metadata.provides ?? {}),
  ...Object.keys(metadata.peers ?? {}),
];
const EVENT_HOOKS = [
  "install",
  "config-changed",
  "start",
  "stop",
  "remove",
  "upgrade-charm",
  "update-status",
  "leader-elected",
  ...ENDPOINTS.flatMap((endpoint) =>
    ["created", "joined", "changed", "departed", "broken"].map(
      (kind) => `${endpoint}-relation-${kind}`,
    ),
  ),
];

function jujuOptionType(value: unknown): string {
  if (typeof value === "number") return "int";
  return typeof value;
}

describe("config.yaml", () => {
  it("declares exactly the options the charm reads", () => {
    expect(Object.keys(options).sort()).toEqual(Object.keys(CONFIG_DEFAULTS).sort());
  });

  it.each(Object.entries(CONFIG_DEFAULTS))(
    "%s has in config.yaml the type and default the charm falls back to",
    (name, fallback) => {
      const option = options[name];
      expect(option?.type).toBe(jujuOptionType(fallback));
      expect(option?.default).toStrictEqual(fallback);
      expect(option?.description.trim().length).toBeGreaterThan(20);
    },
  );

  it("gives, as Juju would fill them in, the very options the charm parses", () => {
    const jujuDefaults = Object.fromEntries(
      Object.entries(options).map(([name, option]) => [name, option.default]),
    );
    expect(parseCharmConfig(jujuDefaults)).toStrictEqual(CONFIG_DEFAULTS);
  });

  it("ships the default services as the same YAML the charm falls back to", () => {
    expect(options.services?.default).toBe(DEFAULT_SERVICES);
  });

  it("explains the special values of ssl_cert and monitoring_password", () => {
    expect(options.ssl_cert?.description).toContain("SELFSIGNED");
    expect(options.monitoring_password?.description).toMatch(/changeme[\s\S]*generate/);
  });
});

describe("metadata.yaml", () => {
  it("names the charm haproxy and leaves bases to the manifest", () => {
    expect(metadata.name).toBe("haproxy");
    expect(metadata.series).toBeUndefined();
    expect(Object.keys(metadata["extra-bindings"] ?? {})).toEqual(["public"]);
  });

  it.each([
    ["requires", "reverseproxy", "http", undefined],
    ["provides", "website", "http", undefined],
    ["provides", "munin", "munin-node", undefined],
    ["provides", "nrpe-external-master", "nrpe-external-master", "container"],
    ["provides", "local-monitors", "local-monitors", "container"],
    ["provides", "statistics", "statistics", "container"],
    ["peers", "peer", "haproxy-peer", undefined],
    ["requires", "certificates", "tls-certificates", undefined],
    ["provides", "ingress", "ingress", undefined],
    ["provides", "haproxy-route", "haproxy-route", undefined],
    ["provides", "haproxy-route-tcp", "haproxy-route-tcp", undefined],
    ["provides", "ingress-per-unit", "ingress_per_unit", undefined],
    ["provides", "cos-agent", "cos_agent", undefined],
    ["requires", "receive-ca-certs", "certificate_transfer", undefined],
  ] as const)("%s %s (interface %s, scope %s)", (role, name, iface, scope) => {
    const endpoint = metadata[role]?.[name];
    expect(endpoint?.interface).toBe(iface);
    expect(endpoint?.scope).toBe(scope);
  });

  it("at most one certificate provider, and haproxy runs without one", () => {
    expect(metadata.requires?.certificates).toMatchObject({ limit: 1, optional: true });
  });

  it("haproxy runs without applications that send CA certificates", () => {
    expect(metadata.requires?.["receive-ca-certs"]).toMatchObject({ optional: true });
  });

  it("has no endpoints beyond the legacy contract and today's certificates, receive-ca-certs, ingress, ingress-per-unit, haproxy-route, haproxy-route-tcp and cos-agent", () => {
    expect(ENDPOINTS.sort()).toEqual(
      [
        "certificates",
        "cos-agent",
        "haproxy-route",
        "haproxy-route-tcp",
        "ingress",
        "ingress-per-unit",
        "local-monitors",
        "munin",
        "nrpe-external-master",
        "peer",
        "receive-ca-certs",
        "reverseproxy",
        "statistics",
        "website",
      ].sort(),
    );
  });
});

describe("dispatch and hooks", () => {
  let sandbox: string;
  let fakeBin: string;

  /** A stand-in `node` that records its arguments and reports a version. */
  async function installFakeNode(version: string): Promise<void> {
    await writeFile(join(sandbox, "node-version"), `${version}\n`);
    await writeScript(
      join(fakeBin, "node"),
      `if [ "\${1:-}" = --version ]; then cat '${sandbox}/node-version'; exit 0; fi\n` +
        `printf '%s\\n' "$@" > '${sandbox}/node-argv'\n`,
    );
  }

  async function writeScript(path: string, body: string): Promise<void> {
    await writeFile(path, `#!/bin/sh\n${body}`);
    await chmod(path, 0o755);
  }

  function run(
    command: string,
    env: Record<string, string>,
    path = `${fakeBin}:${process.env.PATH ?? ""}`,
  ): { status: number | null; stderr: string } {
    const result = spawnSync(command, [], {
      cwd: CHARM_DIR,
      env: { PATH: path, ...env },
      encoding: "utf8",
    });
    return { status: result.status, stderr: result.stderr };
  }

  async function nodeArgv(): Promise<string[]> {
    const recorded = await readFile(join(sandbox, "node-argv"), "utf8").catch(() => "");
    return recorded.split("\n").filter((line) => line !== "");
  }

  beforeEach(async () => {
    sandbox = await mkdtemp(join(tmpdir(), "charm-hooks-"));
    fakeBin = join(sandbox, "bin");
    await mkdir(fakeBin);
    await installFakeNode("v20.11.1");
    // haproxy is present, as the install tests expect, on machines without it too.
    await writeScript(join(fakeBin, "haproxy"), "exit 0\n");
  });

  afterEach(async () => {
    await rm(sandbox, { recursive: true, force: true });
  });

  it("ships an executable dispatch and one executable hook per event", () => {
    for (const file of ["dispatch", ...EVENT_HOOKS.map((hook) => `hooks/${hook}`)]) {
      const path = join(CHARM_DIR, file);
      expect(statSync(path).isFile(), file).toBe(true);
      expect(() => accessSync(path, constants.X_OK), file).not.toThrow();
    }
  });

  it("hands every event to the CLI under its own name", async () => {
    for (const hook of EVENT_HOOKS) {
      const result = run(join(CHARM_DIR, "dispatch"), {
        JUJU_DISPATCH_PATH: `hooks/${hook}`,
        JUJU_CHARM_DIR: CHARM_DIR,
      });
      expect(result, hook).toMatchObject({ status: 0, stderr: "" });
      expect(await nodeArgv(), hook).toEqual([BUNDLE, "hook", hook]);
    }
  });

  it("finds the charm from its own location without JUJU_CHARM_DIR", async () => {
    expect(run("./dispatch", { JUJU_DISPATCH_PATH: "hooks/update-status" }).status).toBe(0);
    expect(await nodeArgv()).toEqual([BUNDLE, "hook", "update-status"]);
    expect(run("hooks/config-changed", {}).status).toBe(0);
    expect(await nodeArgv()).toEqual([BUNDLE, "hook", "config-changed"]);
  });

  it("runs hooks/<event> when present and executable, else the CLI", async () => {
    const charm = join(sandbox, "charm");
    await mkdir(join(charm, "hooks"), { recursive: true });
    await copyFile(join(CHARM_DIR, "dispatch"), join(charm, "dispatch"));
    await chmod(join(charm, "dispatch"), 0o755);
    await writeScript(join(charm, "hooks/start"), `echo "$0" > '${sandbox}/custom-hook'\n`);
    await writeFile(join(charm, "hooks/stop"), "#!/bin/sh\nexit 3\n"); // not executable

    const env = (hook: string) => ({ JUJU_DISPATCH_PATH: `hooks/${hook}`, JUJU_CHARM_DIR: charm });
    expect(run(join(charm, "dispatch"), env("start")).status).toBe(0);
    expect(await readFile(join(sandbox, "custom-hook"), "utf8")).toBe(`${charm}/hooks/start\n`);
    expect(await nodeArgv()).toEqual([]);

    expect(run(join(charm, "dispatch"), env("stop")).status).toBe(0);
    expect(await nodeArgv()).toEqual([join(charm, "dist/haproxy-charm.mjs"), "hook", "stop"]);

    expect(run(join(charm, "dispatch"), env("secret-changed")).status).toBe(0);
    expect(await nodeArgv()).toEqual([
      join(charm, "dist/haproxy-charm.mjs"),
      "hook",
      "secret-changed",
    ]);
  });

  it("refuses to run without JUJU_DISPATCH_PATH", () => {
    const result = run(join(CHARM_DIR, "dispatch"), {});
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("JUJU_DISPATCH_PATH");
  });

  describe("install", () => {
    beforeEach(async () => {
      await writeScript(
        join(fakeBin, "status-set"),
        `printf '%s\\n' "$*" >> '${sandbox}/status-calls'\n`,
      );
    });

    async function fakeAptGet(succeeds: boolean): Promise<void> {
      // A successful install brings a Node.js recent enough for the CLI.
      const onInstall = succeeds ? `echo v18.19.1 > '${sandbox}/node-version'` : "exit 100";
      await writeScript(
        join(fakeBin, "apt-get"),
        `printf '%s\\n' "$*" >> '${sandbox}/apt-calls'\n` +
          `case "$*" in *" install "*) ${onInstall} ;; esac\n`,
      );
    }

    async function lines(file: string): Promise<string[]> {
      const text = await readFile(join(sandbox, file), "utf8").catch(() => "");
      return text.split("\n").filter((line) => line !== "");
    }

    it("installs nothing when a recent Node.js and haproxy are present", async () => {
      await fakeAptGet(true);
      expect(run("hooks/install", {}).status).toBe(0);
      expect(await lines("apt-calls")).toEqual([]);
      expect(await lines("status-calls")).toEqual([]);
      expect(await nodeArgv()).toEqual([BUNDLE, "hook", "install"]);
    });

    it.each(["install", "upgrade-charm"])(
      "%s installs Node.js when the one present is too old, then runs the CLI",
      async (hook) => {
        await installFakeNode("v18.18.2");
        await fakeAptGet(true);
        expect(run(`hooks/${hook}`, {})).toMatchObject({ status: 0 });
        expect(await lines("status-calls")).toEqual(["maintenance Installing haproxy and Node.js"]);
        const aptCalls = await lines("apt-calls");
        expect(aptCalls).toHaveLength(2);
        expect(aptCalls[0]).toMatch(/ update /);
        expect(aptCalls[1]).toMatch(/ install -y -q nodejs$/);
        expect(await nodeArgv()).toEqual([BUNDLE, "hook", hook]);
      },
    );

    it("fails with a clear message when apt-get cannot install", async () => {
      await installFakeNode("v12.22.9");
      await fakeAptGet(false);
      const result = run("hooks/install", {});
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("Could not install nodejs with apt-get");
      expect(await nodeArgv()).toEqual([]);
    });

    it("fails with a clear message when the archive's Node.js is too old", async () => {
      await installFakeNode("v12.22.9");
      await writeScript(join(fakeBin, "apt-get"), "exit 0\n");
      const result = run("hooks/install", {});
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/needs Node.js >= 18.19.*'v12.22.9'/);
      expect(await nodeArgv()).toEqual([]);
    });
  });

  it("without Node.js, stop and remove succeed and other hooks fail clearly", async () => {
    // A PATH with the few tools the hook scripts use, and no node.
    const bareBin = join(sandbox, "bare");
    await mkdir(bareBin);
    await symlink("/usr/bin/dirname", join(bareBin, "dirname"));
    for (const hook of ["stop", "remove"]) {
      expect(run(`hooks/${hook}`, {}, bareBin).status, hook).toBe(0);
    }
    const result = run("hooks/config-changed", {}, bareBin);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Node.js is not installed");
  });
});
