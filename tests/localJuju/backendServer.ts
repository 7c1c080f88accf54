// The web server a scripted unit runs: a real node:http (or node:https) server
// that answers every request with its unit's name (or another given reply), so
// tests see which backend served them, and prints every request it receives as
// a JSON line, so tests see what haproxy sent (health checks included).
// A `delay=<ms>` query parameter holds the answer back, for timeouts.
// Kept as JavaScript source text because it runs as its own process inside
// the unit's network namespace, from tests and from the bundled demo alike.

export const backendServerSource = `
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
const [reply, port, host, certFile, keyFile] = process.argv.slice(2);
const handle = (request, response) => {
  request.resume();
  const seen = {
    method: request.method,
    url: request.url ?? "",
    headers: request.headers,
    remotePort: request.socket.remotePort,
  };
  process.stdout.write(JSON.stringify(seen) + "\\n");
  const delay = Number(new URL(request.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
  setTimeout(() => {
    response.writeHead(200, {
      "content-type": "text/plain",
      "x-served-by": reply,
      "x-request-path": request.url ?? "",
    });
    response.end(reply + "\\n");
  }, delay);
};
const server = certFile
  ? createTlsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handle)
  : createServer(handle);
server.listen(Number(port), host, () => process.stdout.write("listening\\n"));
process.on("SIGTERM", () => {
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
});
`;

/** A request as the backend server received it. */
export interface SeenRequest {
  readonly method: string;
  /** Path and query, as sent by haproxy. */
  readonly url: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The port of the connection it came on: one per connection haproxy opened. */
  readonly remotePort: number;
}
