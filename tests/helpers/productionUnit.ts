// One haproxy unit run exactly as production wires it: Juju's way in (the
// charm's dispatch, hooks/<event>, the bundled CLI with productionPaths,
// system paths included), inside a private view of the file system. A holder
// process keeps a mount namespace where /etc, /var/lib, /var/log and
// /usr/local/lib are overlays whose writes land in a temporary directory and
// /run is a fresh tmpfs; each hook enters it with nsenter, so the charm writes
// its real paths and the host never sees them. The hook tools, systemctl,
// journalctl, sysctl, dpkg and apt-get are stand-ins that forward to this
// process: hook tools to a MemoryHookTools, `systemctl ... haproxy` to a real
// haproxy that runs inside the view, the rest written down (the host's kernel
// settings and packages stay untouched).
import { type ChildProcess, spawn } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";

import { execa } from "execa";
import yaml from "js-yaml";

import type { HookTools, LogLevel, StatusName } from "../../src/juju/hookTools.js";
import { HaproxyProcess } from "./haproxyProcess.js";
import { MemoryHookTools } from "./memoryHookTools.js";
import type { PrivateBundle } from "./privateBundle.js";
import { HOOK_TOOL_NAMES } from "./hookToolNames.js";

const repo = path.resolve(import.meta.dirname, "../..");
const basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const overlaid = ["/etc", "/var/lib", "/var/log", "/usr/local/lib"];

const HOOK_TOOLS = HOOK_TOOL_NAMES;
const HOST_TOOLS = ["systemctl", "journalctl", "sysctl", "dpkg", "apt-get", "apt"];
/** The only ones that read stdin: the others must not wait for it, as the real ones do not. */
const READING_STDIN = new Set(["relation-set", "dpkg"]);

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProductionUnit {
  readonly tools: MemoryHookTools;
  /** The unit's haproxy.service: a real haproxy inside the view. */
  readonly haproxy: HaproxyProcess;
  /** Every systemctl, journalctl, sysctl, dpkg and apt-get command, in order. */
  readonly commands: string[];
  /** The charm's directory, as Juju unpacks it (dispatch, hooks/, dist/). */
  readonly charmDir: string;
  /** Runs one event through dispatch, as the unit agent does; extra environment as Juju sets it. */
  dispatch(event: string, env?: Record<string, string>): Promise<RunResult>;
  /** Runs a command inside the unit's view, with the stand-ins first on PATH. */
  exec(argv: readonly string[], env?: Record<string, string>): Promise<RunResult>;
  /** A file as the unit sees it, or undefined when it has none. */
  readFile(file: string): Promise<string | undefined>;
  cleanup(): Promise<void>;
}

export async function startProductionUnit(options: {
  readonly bundle: PrivateBundle;
  /** Loopback ports haproxy must accept connections on before a start returns. */
  readonly probePorts?: readonly number[];
}): Promise<ProductionUnit> {
  const root = await mkdtemp(path.join(tmpdir(), "production-unit-"));
  const charmDir = path.join(root, "charm");
  const bin = path.join(root, "bin");
  const socket = path.join(root, "stand-ins.sock");
  const tools = new MemoryHookTools();
  const commands: string[] = [];
  let holder: ChildProcess | undefined;
  let server: Server | undefined;
  let haproxy: HaproxyProcess | undefined;

  const cleanup = async () => {
    await haproxy?.stop();
    if (holder?.pid !== undefined && holder.exitCode === null) holder.kill("SIGKILL");
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await rm(root, { recursive: true, force: true });
  };

  try {
    await mkdir(charmDir);
    for (const entry of ["dispatch", "hooks", "metadata.yaml", "config.yaml", "actions.yaml"]) {
      await cp(path.join(repo, entry), path.join(charmDir, entry), { recursive: true });
    }
    await cp(options.bundle.dir, path.join(charmDir, "dist"), { recursive: true });

    holder = await startHolder(root);
    const enter = ["nsenter", "--target", String(holder.pid), "--mount", "--"];

    const haproxyInView = path.join(root, "haproxy-in-view");
    await writeFile(haproxyInView, `#!/bin/sh\nexec ${enter.join(" ")} /usr/sbin/haproxy "$@"\n`);
    await chmod(haproxyInView, 0o755);
    haproxy = new HaproxyProcess({
      configFile: "/etc/haproxy/haproxy.cfg",
      pidFile: path.join(root, "haproxy.pid"),
      haproxyBinary: haproxyInView,
      ...(options.probePorts && { probePorts: options.probePorts }),
    });

    const service = haproxy;
    const selections = new Map([["haproxy", "install"]]);
    server = await serveStandIns(socket, async (tool, args, input) => {
      if (HOOK_TOOLS.includes(tool)) return hookTool(tools, tool, args, input);
      commands.push([tool, ...args].join(" "));
      return hostTool(service, selections, tool, args, input);
    });
    await writeStandIns(bin, socket);

    const run = (argv: readonly string[], cwd: string, env: Record<string, string>) =>
      execa(
        enter[0] as string,
        [...enter.slice(1), "/bin/sh", "-c", 'cd "$0" && exec "$@"', cwd, ...argv],
        {
          env: { PATH: `${bin}:${basePath}`, ...env },
          extendEnv: false,
          reject: false,
          stdin: "ignore",
        },
      ).then(({ exitCode, stdout, stderr }) => ({ exitCode: exitCode ?? -1, stdout, stderr }));

    return {
      tools,
      haproxy,
      commands,
      charmDir,
      dispatch: (event, env = {}) =>
        run([path.join(charmDir, "dispatch")], charmDir, {
          JUJU_DISPATCH_PATH: `hooks/${event}`,
          JUJU_CHARM_DIR: charmDir,
          CHARM_DIR: charmDir,
          JUJU_UNIT_NAME: "haproxy/0",
          JUJU_MODEL_NAME: "production-unit",
          JUJU_HOOK_NAME: event,
          ...env,
        }),
      exec: (argv, env = {}) => run(argv, "/", env),
      readFile: async (file) => {
        const result = await run(["cat", "--", file], "/", {});
        return result.exitCode === 0 ? result.stdout : undefined;
      },
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** The namespace holder: mounts the view, says ready, then waits to be killed. */
async function startHolder(root: string): Promise<ChildProcess> {
  const lines = ["set -e"];
  for (const directory of overlaid) {
    const layer = path.join(root, "overlay", directory.slice(1).replaceAll("/", "-"));
    await mkdir(path.join(layer, "upper"), { recursive: true });
    await mkdir(path.join(layer, "work"), { recursive: true });
    lines.push(
      `mount -t overlay overlay -o lowerdir=${directory},upperdir=${layer}/upper,workdir=${layer}/work ${directory}`,
    );
  }
  // As on a fresh machine, where Debian's tmpfiles.d makes /run/haproxy.
  lines.push(
    "mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run",
    "install -d -m 2775 -o haproxy -g haproxy /run/haproxy",
    "echo ready",
    // Gone with the test process, so that a killed run leaves no holder behind.
    "while kill -0 $PPID 2>/dev/null; do sleep 1; done",
  );
  const holder = spawn(
    "unshare",
    ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", lines.join("\n")],
    { stdio: ["ignore", "pipe", "pipe"], env: { PATH: basePath } },
  );
  await new Promise<void>((resolve, reject) => {
    let stderr = "";
    holder.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
    holder.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    holder.on("exit", (code) =>
      reject(new Error(`the unit's view could not be made (${code}): ${stderr}`)),
    );
    holder.on("error", reject);
  });
  return holder;
}

type Answer = RunResult;
type Handler = (tool: string, args: string[], input: string) => Promise<Answer>;

async function serveStandIns(socket: string, handle: Handler): Promise<Server> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const type = request.headers["content-type"] ?? "";
      void new Response(Buffer.concat(chunks), { headers: { "content-type": type } })
        .formData()
        .then(async (form) => {
          const tool = String(form.get("tool"));
          const args = form.getAll("arg").map(String);
          return handle(tool, args, String(form.get("stdin") ?? "")).catch(
            (error: unknown): Answer =>
              refused(1, `${tool}: ${error instanceof Error ? error.message : String(error)}`),
          );
        })
        .catch((error: unknown): Answer => refused(1, `stand-in: ${String(error)}`))
        .then((answer) => response.end(asShell(answer)));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return server;
}

/** The answer as the shell code its stand-in evaluates: print, then exit with the code. */
function asShell(answer: Answer): string {
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  return (
    `printf '%s' ${quote(answer.stdout)}\n` +
    `printf '%s' ${quote(answer.stderr)} >&2\n` +
    `exit ${answer.exitCode}\n`
  );
}

/**
 * One shell script per stand-in: curl posts its name, arguments and stdin to
 * this process and the shell runs the answer (a node client would cost each
 * of a hook's dozens of calls a Node.js start).
 */
async function writeStandIns(bin: string, socket: string): Promise<void> {
  await mkdir(bin);
  for (const tool of [...HOOK_TOOLS, ...HOST_TOOLS]) {
    const file = path.join(bin, tool);
    await writeFile(
      file,
      [
        "#!/bin/sh",
        // Each argument becomes a form field of its own, taken literally.
        "count=$#",
        "while [ $count -gt 0 ]; do",
        '  set -- "$@" --form-string "arg=$1"',
        "  shift",
        "  count=$((count - 1))",
        "done",
        `answer=$(curl -sS --unix-socket '${socket}' --form-string 'tool=${tool}'${READING_STDIN.has(tool) ? " -F 'stdin=<-'" : ""} "$@" http://stand-ins/) || exit 70`,
        'eval "$answer"',
        "",
      ].join("\n"),
    );
    await chmod(file, 0o755);
  }
}

const ok = (stdout = ""): Answer => ({ exitCode: 0, stdout, stderr: "" });
const refused = (exitCode: number, stderr: string): Answer => ({
  exitCode,
  stdout: "",
  stderr: `${stderr}\n`,
});
const json = (value: unknown) => ok(`${JSON.stringify(value)}\n`);

/** Juju's flags as the charm passes them; anything else fails as Juju's tools do. */
function parseFlags(args: readonly string[]): { flags: Map<string, string>; words: string[] } {
  const flags = new Map<string, string>();
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      words.push(...args.slice(i + 1));
      break;
    }
    if (arg === "--format=json" || arg === "--app" || arg === "--quiet") flags.set(arg, "");
    else if (arg === "-r" || arg === "-l" || arg === "--file") flags.set(arg, args[++i] ?? "");
    else if (arg.startsWith("-") && arg !== "-")
      throw new Error(`option provided but not defined: ${arg}`);
    else words.push(arg);
  }
  return { flags, words };
}

async function hookTool(
  tools: HookTools,
  tool: string,
  args: readonly string[],
  input: string,
): Promise<Answer> {
  const { flags, words } = parseFlags(args);
  const relation = flags.get("-r") ?? "";
  const app = flags.has("--app");
  switch (tool) {
    case "config-get":
      return json(await tools.configGet());
    case "relation-ids":
      return json(await tools.relationIds(words[0] ?? ""));
    case "relation-list":
      return json(app ? await tools.relationApp(relation) : await tools.relationList(relation));
    case "relation-get": {
      const name = words[1] ?? "";
      return json(
        app ? await tools.relationGetApp(relation, name) : await tools.relationGet(relation, name),
      );
    }
    case "relation-set": {
      if (flags.get("--file") !== "-") throw new Error("expected --file -");
      const settings = (yaml.load(input) ?? {}) as Record<string, string>;
      if (app) await tools.relationSetApp(relation, settings);
      else await tools.relationSet(relation, settings);
      return ok();
    }
    case "unit-get":
      return json(await tools.unitGet(words[0] as "private-address" | "public-address"));
    case "network-get":
      return json(await tools.networkGet(words[0] ?? ""));
    case "open-port":
      await tools.openPort(Number((words[0] ?? "").split("/")[0]));
      return ok();
    case "close-port":
      await tools.closePort(Number((words[0] ?? "").split("/")[0]));
      return ok();
    case "opened-ports":
      return json(await tools.openedPorts());
    case "status-set":
      await tools.statusSet(words[0] as StatusName, words[1] ?? "");
      return ok();
    case "juju-log":
      await tools.log((flags.get("-l") ?? "INFO") as LogLevel, words.join(" "));
      return ok();
    case "is-leader":
      return json(await tools.isLeader());
    default:
      return refused(127, `${tool}: not a hook tool`);
  }
}

async function hostTool(
  haproxy: HaproxyProcess,
  selections: Map<string, string>,
  tool: string,
  args: readonly string[],
  input: string,
): Promise<Answer> {
  const words = args.filter((arg) => !arg.startsWith("-"));
  switch (tool) {
    case "systemctl": {
      const [verb, unit] = words;
      if (unit === "nagios-nrpe-server" && verb === "try-reload-or-restart") return ok();
      if (unit !== "haproxy") return refused(5, `Unit ${unit ?? ""}.service not found.`);
      if (verb === "is-active") return (await haproxy.isRunning()) ? ok() : refused(3, "");
      if (verb === "start")
        return (await haproxy.isRunning()) ? ok() : haproxy.start().then(() => ok());
      if (verb === "reload") return haproxy.reload().then(() => ok());
      if (verb === "stop") return haproxy.stop().then(() => ok());
      return refused(1, `systemctl ${verb ?? ""}: not provided here`);
    }
    case "journalctl":
      return ok();
    case "sysctl":
      // Written down only: the host's kernel is shared.
      return ok();
    case "dpkg":
      if (args[0] === "--get-selections") {
        return ok(
          words.map((name) => `${name}\t\t\t${selections.get(name) ?? "unknown"}\n`).join(""),
        );
      }
      if (args[0] === "--set-selections") {
        for (const line of input.split("\n")) {
          const [name, state] = line.trim().split(/\s+/);
          if (name && state) selections.set(name, state);
        }
        return ok();
      }
      return refused(2, `dpkg ${args.join(" ")}: not provided here`);
    default:
      return refused(100, `${tool} ${args.join(" ")}: not expected of this unit`);
  }
}
