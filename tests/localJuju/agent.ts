// The model's unit agent: a small HTTP server on a Unix socket. Hook tools
// and system shims inside the machines are two-line shell clients (curl)
// that send their arguments here and get back a script that prints the
// answer and exits with the tool's status, much as Juju's jujuc talks to
// the unit agent. Unix sockets work across network namespaces, and the
// socket lives under /tmp, which every machine shares with the host.

import { chmodSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { createServer } from "node:http";
import type { HookContext } from "./hookContext.js";
import type { MachineSystem, ShimResult } from "./systemShims.js";
import { runShim } from "./systemShims.js";
import { hookTools } from "./tools/registry.js";
import { ToolError } from "./tools/toolError.js";

export interface AgentCall {
  readonly tool: string;
  readonly context: string;
  readonly unit: string;
  readonly args: readonly string[];
  readonly input: string | undefined;
}

export class Agent {
  private readonly contexts = new Map<string, HookContext>();
  private readonly systems = new Map<string, MachineSystem>();
  /** Every hook tool call, for tests that count or inspect them. */
  readonly calls: AgentCall[] = [];

  private constructor(
    private readonly server: Server,
    readonly socket: string,
  ) {}

  static async start(socket: string): Promise<Agent> {
    const server = createServer();
    const agent = new Agent(server, socket);
    server.on("request", (request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (body += chunk));
      request.on("end", () => {
        agent
          .handle(new URLSearchParams(body))
          .then((result) => {
            response.writeHead(200, { "content-type": "text/plain" });
            response.end(replyScript(result));
          })
          .catch((error: unknown) => {
            response.writeHead(200, { "content-type": "text/plain" });
            const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
            response.end(
              replyScript({ code: 1, stdout: "", stderr: `local model bug: ${message}\n` }),
            );
          });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socket, resolve);
    });
    return agent;
  }

  register(context: HookContext): void {
    this.contexts.set(context.id, context);
  }

  unregister(context: HookContext): void {
    this.contexts.delete(context.id);
  }

  addMachineSystem(unit: string, system: MachineSystem): void {
    this.systems.set(unit, system);
  }

  private async handle(params: URLSearchParams): Promise<ShimResult> {
    const call: AgentCall = {
      tool: params.get("tool") ?? "",
      context: params.get("context") ?? "",
      unit: params.get("unit") ?? "",
      args: params.getAll("arg"),
      input: params.get("input") ?? undefined,
    };
    const tool = hookTools.get(call.tool);
    if (tool === undefined) {
      const system = this.systems.get(call.unit);
      if (system === undefined)
        return { code: 1, stdout: "", stderr: `unknown unit ${call.unit}\n` };
      return runShim(call.tool, call.args, call.input, system);
    }
    this.calls.push(call);
    const context = this.contexts.get(call.context);
    if (context === undefined) {
      const stderr = `ERROR ${call.tool}: JUJU_CONTEXT_ID "${call.context}" is not a running hook\n`;
      return { code: 1, stdout: "", stderr };
    }
    try {
      const output = tool(context, call.args, call.input);
      const stderr = output.stderr === undefined ? "" : `${output.stderr}\n`;
      return { code: 0, stdout: output.stdout, stderr };
    } catch (error) {
      if (!(error instanceof ToolError)) throw error;
      context.log("ERROR", `${call.tool}: ${error.message}`);
      return { code: error.exitCode, stdout: "", stderr: `ERROR ${error.message}\n` };
    }
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }
}

function replyScript(result: ShimResult): string {
  return [
    `printf '%s' ${shellQuote(result.stdout)}`,
    `printf '%s' ${shellQuote(result.stderr)} >&2`,
    `exit ${result.code}`,
  ].join("\n");
}

export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export type InputRule = "none" | "file-flag" | "set-selections";

/** Writes the shell client for `tool` at `path`. `unit` is baked in for shims. */
export function writeClientScript(
  path: string,
  options: { tool: string; socket: string; unit?: string; input: InputRule },
): void {
  const inputDetection = {
    none: "",
    "file-flag": [
      '  if [ -n "$expect_file" ]; then input_file=$arg; expect_file=; fi',
      "  case $arg in",
      "    --file) expect_file=1 ;;",
      "    --file=*) input_file=${arg#--file=} ;;",
      "  esac",
    ].join("\n"),
    "set-selections": "  case $arg in --set-selections) input_file=- ;; esac",
  }[options.input];
  const script = `#!/bin/sh
# ${options.tool}: part of the local Juju model. Sends this call to the model's
# agent and runs the reply, which prints the answer and exits with its status.
socket=${shellQuote(options.socket)}
tool=${shellQuote(options.tool)}
unit=${shellQuote(options.unit ?? "")}
count=$#
input_file=
expect_file=
for arg do
${inputDetection}
  set -- "$@" --data-urlencode "arg=$arg"
done
shift "$count"
if [ -n "$input_file" ]; then
  set -- "$@" --data-urlencode "input@$input_file"
fi
reply=$(curl -sS --fail-with-body --unix-socket "$socket" \\
  --data-urlencode "tool=$tool" --data-urlencode "context=\${JUJU_CONTEXT_ID:-}" \\
  --data-urlencode "unit=$unit" "$@" http://local-model/run) || {
  echo "$tool: the local model's agent did not answer" >&2
  exit 1
}
eval "$reply"
`;
  writeFileSync(path, script);
  chmodSync(path, 0o755);
}
