// Real HTTP servers standing for related application units, and a real
// client that asks haproxy which of them answered.
import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  createServer,
  request,
} from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";

export interface Backend {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a server on `host` (a loopback address) that answers every request with its name. */
export async function startBackend(name: string, host = "127.0.0.1"): Promise<Backend> {
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain", connection: "close" });
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
}

export interface AskOptions {
  /** The Host header; default 127.0.0.1:<port>. */
  readonly host?: string;
  /** Speak TLS, sending `servername` by SNI and trusting `ca`. */
  readonly tls?: { readonly servername: string; readonly ca: string };
}

/** GET <path> from 127.0.0.1:<port> with a real client, over TLS when asked. */
export function httpAsk(port: number, path = "/", options: AskOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const common = {
      host: "127.0.0.1",
      port,
      path,
      agent: false as const,
      headers: { connection: "close", ...(options.host !== undefined && { host: options.host }) },
    };
    const onResponse = (res: IncomingMessage) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    };
    const req = options.tls
      ? httpsRequest(
          { ...common, servername: options.tls.servername, ca: options.tls.ca },
          onResponse,
        )
      : request(common, onResponse);
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** GET http://127.0.0.1:<port><path>, resolving to the status and body. */
export async function httpGet(port: number, path = "/"): Promise<{ status: number; body: string }> {
  const { status, body } = await httpAsk(port, path);
  return { status, body };
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
