// A scripted TCP server and client for haproxy-route-tcp in the local model,
// each a `node -e` program run inside a machine of the model, so that what
// the server sees and what the client gets are those of real connections
// between the model's addresses.
import type { LocalModel } from "../localJuju/model.js";

/**
 * The server: `node -e TCP_SERVER '{"name","host","ports","ping"}'` listens on
 * every port and reads one line per connection, after a PROXY v2 header when
 * one comes. `ping` answers the configured word (for a generic check), `hold`
 * answers the name and keeps the connection open, `silent` answers nothing,
 * anything else gets `<name> port=<port> client=<PROXY source or ->` and the
 * end of the connection. Prints `listening` once every port is bound.
 */
export const TCP_SERVER = `
const net = require("net");
const { name, host, ports, ping } = JSON.parse(process.argv[1]);
const signature = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
let bound = 0;
for (const port of ports) {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    let buffered = Buffer.alloc(0);
    let client = "-";
    let headerRead = false;
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!headerRead) {
        const known = Math.min(buffered.length, signature.length);
        if (buffered.subarray(0, known).equals(signature.subarray(0, known))) {
          if (buffered.length < 16) return;
          const length = buffered.readUInt16BE(14);
          if (buffered.length < 16 + length) return;
          const local = (buffered[12] & 0x0f) === 0;
          const family = buffered[13] >> 4;
          client = local ? "local" : family === 1 ? [...buffered.subarray(16, 20)].join(".") : "family-" + family;
          buffered = buffered.subarray(16 + length);
        }
        headerRead = true;
      }
      const end = buffered.indexOf("\\n");
      if (end === -1) return;
      const line = buffered.subarray(0, end).toString("latin1").trim();
      socket.removeAllListeners("data");
      if (line === "hold") socket.write(name + "\\n");
      else if (line === "silent") return;
      else if (line === "ping") socket.end(ping + "\\n");
      else socket.end(name + " port=" + port + " client=" + client + "\\n");
    });
  });
  server.listen(port, host, () => {
    bound += 1;
    if (bound === ports.length) process.stdout.write("listening\\n");
  });
}
`;

/**
 * A server that never accepts: `python3 -c UNACCEPTING_SERVER <host> <port>`
 * listens with a backlog of one connection and no accept, so that once one
 * connection waits in its queue the kernel drops every new attempt
 * unanswered, as a host that is down or overloaded does. (node accepts on
 * its own; Python's socket lets a program not do it.) Prints `listening`.
 */
export const UNACCEPTING_SERVER = `
import socket, sys, time
server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(0)
print("listening", flush=True)
while True:
    time.sleep(3600)
`;

/** One connection of a client: what it sends, how long it waits, whether it stays open. */
export interface Connection {
  readonly send?: string;
  /** Give up waiting for the end after this long (the outcome is then what came, or `open`). */
  readonly waitMs?: number;
  /** Keep the connection open, once its first bytes came, until every connection is done. */
  readonly hold?: boolean;
}

/**
 * The client: `node -e TCP_CLIENT '{"host","port","connections"}'` makes
 * the connections one after the other and prints, as JSON, each one's
 * outcome: what came back, `refused` when the connection was closed or
 * reset without a byte, `open` when nothing came and it was still open.
 */
const TCP_CLIENT = `
const net = require("net");
const { host, port, connections } = JSON.parse(process.argv[1]);
const held = [];
function talk(connection) {
  return new Promise((resolve) => {
    const chunks = [];
    let settled = false;
    const text = () => Buffer.concat(chunks).toString("latin1");
    const done = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const socket = net.connect({ host, port }, () => socket.write(connection.send ?? "hello\\n"));
    const timer = setTimeout(() => {
      if (connection.hold) held.push(socket);
      else socket.destroy();
      done(chunks.length > 0 ? text() : "open");
    }, connection.waitMs ?? 3000);
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      if (connection.hold) {
        held.push(socket);
        done(text());
      }
    });
    socket.on("close", () => done(chunks.length > 0 ? text() : "refused"));
    socket.on("error", () => {});
  });
}
(async () => {
  const outcomes = [];
  for (const connection of connections) outcomes.push(await talk(connection));
  held.forEach((socket) => socket.destroy());
  process.stdout.write(JSON.stringify(outcomes));
})();
`;

/** Makes `connections` from `unit`'s machine to `host:port`; each one's outcome, in order. */
export async function connectFrom(
  model: LocalModel,
  unit: string,
  target: { host: string; port: number },
  connections: readonly Connection[],
): Promise<string[]> {
  const input = JSON.stringify({ ...target, connections });
  const result = await model.exec(unit, [process.execPath, "-e", TCP_CLIENT, input]);
  if (result.exitCode !== 0) throw new Error(`client on ${unit} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}
