// Asks haproxy's admin socket one question (e.g. `show stat`) and returns the
// whole answer: haproxy closes the connection after a single command.
import { connect } from "node:net";

export class StatsSocketError extends Error {
  constructor(socketPath: string, problem: string) {
    super(`cannot ask haproxy at ${socketPath}: ${problem}`);
    this.name = "StatsSocketError";
  }
}

export function askAdminSocket(
  socketPath: string,
  command: string,
  timeoutMs = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(socketPath);
    const fail = (problem: string) => {
      socket.destroy();
      reject(new StatsSocketError(socketPath, problem));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.on("connect", () => socket.end(`${command}\n`));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) =>
      fail(error.code === "ENOENT" ? "no such socket (is haproxy running?)" : error.message),
    );
    socket.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}
