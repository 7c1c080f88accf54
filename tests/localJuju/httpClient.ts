// A real HTTP client (curl) run from the model's switch namespace, the
// vantage point of a user on the model's network.

import { execa } from "execa";

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface HttpOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** Extra curl arguments, e.g. `["-k"]` or `["--cacert", file]`. */
  readonly curlArgs?: readonly string[];
}

export async function httpRequest(
  namespace: string,
  url: string,
  options: HttpOptions = {},
): Promise<HttpResponse> {
  const args = ["netns", "exec", namespace, "curl", "-sS", "-i", "--http1.1", "--noproxy", "*"];
  args.push("--max-time", String((options.timeoutMs ?? 5000) / 1000));
  if (options.method !== undefined) args.push("-X", options.method);
  for (const [name, value] of Object.entries(options.headers ?? {}))
    args.push("-H", `${name}: ${value}`);
  args.push(...(options.curlArgs ?? []), url);
  const result = await execa("ip", args, { reject: false, encoding: "utf8" });
  if (result.exitCode !== 0) {
    throw new Error(`curl ${url} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  }
  return parseResponse(result.stdout);
}

function parseResponse(raw: string): HttpResponse {
  let rest = raw;
  // Skip interim responses such as `100 Continue`.
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    const head = end === -1 ? rest : rest.slice(0, end);
    const body = end === -1 ? "" : rest.slice(end + 4);
    const [statusLine = "", ...lines] = head.split("\r\n");
    const status = Number(statusLine.split(" ")[1]);
    if (status >= 100 && status < 200 && body.startsWith("HTTP/")) {
      rest = body;
      continue;
    }
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status, headers, body };
  }
}
