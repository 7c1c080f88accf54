// wrk driving HTTP load through haproxy from a machine of the local model,
// for as long as the caller keeps it going: stop() interrupts wrk, which
// prints its summary, and the figures come back parsed.
import { spawn } from "node:child_process";

export interface WrkFigures {
  readonly requests: number;
  /** Requests that got no response: connect, read, write errors and timeouts. */
  readonly failed: number;
  readonly socketErrors: {
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly timeout: number;
  };
  /** Responses with a status of 400 or more, as wrk counts them. */
  readonly non2xx: number;
  readonly seconds: number;
}

export interface WrkOptions {
  readonly connections: number;
  readonly threads?: number;
  /** Close after each response: every request opens a new connection. */
  readonly newConnectionPerRequest?: boolean;
  readonly timeoutSeconds?: number;
}

export interface WrkRun {
  stop(): Promise<WrkFigures>;
}

/** Starts wrk inside network namespace `namespace` against `url`; it runs until stop(). */
export function startWrk(namespace: string, url: string, options: WrkOptions): WrkRun {
  const args = [
    `--net=/run/netns/${namespace}`,
    "--",
    "wrk",
    "--latency",
    "-t",
    String(options.threads ?? 1),
    "-c",
    String(options.connections),
    "-d",
    "3600s",
    "--timeout",
    `${options.timeoutSeconds ?? 5}s`,
    ...(options.newConnectionPerRequest ? ["-H", "Connection: close"] : []),
    url,
  ];
  const child = spawn("nsenter", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // "close", not "exit": wrk's summary may still be in the pipe when it has exited.
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return {
    async stop() {
      // wrk stops on SIGINT and still reports what it measured.
      child.kill("SIGINT");
      const code = await exited;
      if (code !== 0) throw new Error(`wrk exited with ${code}:\n${output}`);
      return parseWrk(output);
    },
  };
}

export function parseWrk(output: string): WrkFigures {
  const summary = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(output);
  if (summary === null) throw new Error(`no summary in wrk's output:\n${output}`);
  const unit = summary[3] === "ms" ? 0.001 : summary[3] === "m" ? 60 : 1;
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    output,
  );
  const socketErrors = {
    connect: Number(errors?.[1] ?? 0),
    read: Number(errors?.[2] ?? 0),
    write: Number(errors?.[3] ?? 0),
    timeout: Number(errors?.[4] ?? 0),
  };
  return {
    requests: Number(summary[1]),
    failed: socketErrors.connect + socketErrors.read + socketErrors.write + socketErrors.timeout,
    socketErrors,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    seconds: Number(summary[2]) * unit,
  };
}
