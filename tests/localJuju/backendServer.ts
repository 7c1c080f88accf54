// The web server a scripted unit runs: a real node:http server that answers
// every request with its unit's name (or another given reply), so tests see
// which backend served them.
// Kept as JavaScript source text because it runs as its own process inside
// the unit's network namespace, from tests and from the bundled demo alike.

export const backendServerSource = `
import { createServer } from "node:http";
const [reply, port, host] = process.argv.slice(2);
const server = createServer((request, response) => {
  request.resume();
  response.writeHead(200, {
    "content-type": "text/plain",
    "x-served-by": reply,
    "x-request-path": request.url ?? "",
  });
  response.end(reply + "\\n");
});
server.listen(Number(port), host, () => process.stdout.write("listening\\n"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;
