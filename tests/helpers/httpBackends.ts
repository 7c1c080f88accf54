// Real HTTP servers standing for related application units, and a real
// client that asks haproxy which of them answered.
import { type Server, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface Backend {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 that answers every request with its name. */
export async function startBackend(name: string): Promise<Backend> {
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain", connection: "close" });
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** GET http://127.0.0.1:<port><path>, resolving to the status and body. */
export function httpGet(port: number, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, agent: false, headers: { connection: "close" } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Which backends answer `requests` requests through haproxy on `port`, each expected to be a 200. */
export async function answeringBackends(port: number, requests: number): Promise<string[]> {
  const names = new Set<string>();
  for (let i = 0; i < requests; i++) {
    const response = await httpGet(port);
    if (response.status !== 200) throw new Error(`status ${response.status} from port ${port}`);
    names.add(response.body);
  }
  return [...names].sort();
}
