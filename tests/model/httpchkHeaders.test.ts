// The classic `option httpchk` with headers after its version, rewritten into
// `option httpchk` and one `http-check send`; every rewritten set of lines is
// then checked by each haproxy version the tests have, which must accept it
// without a warning.
import { describe, expect, it } from "vitest";

import { moveHttpchkHeaders } from "../../src/model/httpchkHeaders.js";
import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";

// Options as an operator writes them in service_options: haproxy's own escapes.
const raw = String.raw;

const rewritten: [string, string[], string[]][] = [
  [
    "the classic Host header",
    ["mode http", raw`option httpchk GET / HTTP/1.1\r\nHost:\ www.example.com`],
    ["mode http", "option httpchk GET / HTTP/1.1", "http-check send hdr Host www.example.com"],
  ],
  [
    "several headers, a value with spaces and a final line break",
    [
      raw`option httpchk HEAD /health HTTP/1.1\r\nHost:\ shop.example\r\nUser-Agent:\ juju\ health\ check\r\n`,
    ],
    [
      "option httpchk HEAD /health HTTP/1.1",
      raw`http-check send hdr Host shop.example hdr User-Agent juju\ health\ check`,
    ],
  ],
  [
    "headers and a body after the blank line",
    [raw`option httpchk POST /check HTTP/1.1\r\nHost:\ x\r\nContent-Type:\ text/plain\r\n\r\nping`],
    [
      "option httpchk POST /check HTTP/1.1",
      "http-check send hdr Host x hdr Content-Type text/plain body ping",
    ],
  ],
  [
    "a body alone",
    [raw`option httpchk POST / HTTP/1.0\r\n\r\nping\ pong\r\n`],
    ["option httpchk POST / HTTP/1.0", raw`http-check send body ping\ pong\r\n`],
  ],
  [
    "nothing after the blank line",
    [raw`option httpchk GET / HTTP/1.1\r\n\r\n`],
    ["option httpchk GET / HTTP/1.1"],
  ],
  [
    "values as written: log-format %, escaped # and backslashes",
    [raw`option httpchk GET / HTTP/1.1\r\nX-Marker:\ 100%%\ \#1\r\nX-Path:\ C:\\check\1`],
    [
      "option httpchk GET / HTTP/1.1",
      raw`http-check send hdr X-Marker 100%%\ \#1 hdr X-Path C:\\check\\1`,
    ],
  ],
  [
    "http-check rules written before it: the request goes first, as haproxy runs it",
    [
      "http-check expect status 200",
      "balance leastconn",
      raw`option httpchk GET / HTTP/1.1\r\nHost:\ x`,
    ],
    [
      "option httpchk GET / HTTP/1.1",
      "http-check send hdr Host x",
      "http-check expect status 200",
      "balance leastconn",
    ],
  ],
  [
    "other lines, and rules after it, stay where they are",
    [
      "http-check send-state",
      "balance leastconn",
      raw`option httpchk GET / HTTP/1.1\r\nHost:\ x`,
      "http-check expect status 200",
      "http-check disable-on-404",
    ],
    [
      "http-check send-state",
      "balance leastconn",
      "option httpchk GET / HTTP/1.1",
      "http-check send hdr Host x",
      "http-check expect status 200",
      "http-check disable-on-404",
    ],
  ],
];

const unchanged: [string, string[]][] = [
  ["no health check", ["mode http", "balance roundrobin"]],
  ["a plain option httpchk", ["option httpchk"]],
  ["a URI alone", ["option httpchk /health"]],
  ["a method and a URI", ["option httpchk GET /health"]],
  ["a version with nothing after it", ["option httpchk GET / HTTP/1.0"]],
  // haproxy looks for headers after a version only.
  ["a line break in the URI of the two-word form", [raw`option httpchk GET /\r\nHost:\ x`]],
  [
    "the operator's own http-check send",
    [raw`option httpchk GET / HTTP/1.1\r\nHost:\ x`, "http-check send hdr X-A b"],
  ],
  [
    "the operator's own http-check connect",
    ["http-check connect", raw`option httpchk GET / HTTP/1.1\r\nHost:\ x`],
  ],
  [
    "two option httpchk lines",
    [raw`option httpchk GET / HTTP/1.1\r\nHost:\ x`, "option httpchk HEAD /"],
  ],
  ["quotes", [raw`option httpchk GET / "HTTP/1.1\r\nHost: x"`]],
  ["a byte escape", [raw`option httpchk GET / HTTP/1.1\r\nHost:\ \x41`]],
  ["a comment", [raw`option httpchk GET / HTTP/1.1\r\nHost:\ x # the vhost`]],
  ["a line that is not a header", [raw`option httpchk GET / HTTP/1.1\r\nnot-a-header`]],
  ["a header name with a space", [raw`option httpchk GET / HTTP/1.1\r\nX\ Y:\ z`]],
  ["an empty header value", [raw`option httpchk GET / HTTP/1.1\r\nX-Empty:`]],
  ["no version before the headers", [raw`option httpchk GET / \r\nHost:\ x`]],
];

/** A whole configuration around a backend's lines, which haproxy -c can judge. */
function configWith(backendLines: readonly string[]): string {
  return [
    "defaults",
    "    mode http",
    "    timeout connect 5s",
    "    timeout client 5s",
    "    timeout server 5s",
    "frontend web",
    "    bind 127.0.0.1:8080",
    "    default_backend app",
    "backend app",
    ...backendLines.map((line) => `    ${line}`),
    "    server app-0 127.0.0.1:8081 check",
    "",
  ].join("\n");
}

describe("moveHttpchkHeaders", () => {
  it.each(rewritten)("rewrites %s", (_name, options, expected) => {
    expect(moveHttpchkHeaders(options)).toEqual(expected);
  });

  it.each(unchanged)("leaves %s as written", (_name, options) => {
    expect(moveHttpchkHeaders(options)).toEqual(options);
  });

  it("returns a new list, the service's own untouched", () => {
    const options = [raw`option httpchk GET / HTTP/1.1\r\nHost:\ x`];
    const copy = [...options];
    expect(moveHttpchkHeaders(options)).not.toBe(options);
    expect(options).toEqual(copy);
  });

  for (const { version, binary } of haproxyVersions) {
    it.each(rewritten)(
      `gives haproxy ${version} lines it accepts without a warning: %s`,
      async (_name, options) => {
        const check = await checkHaproxyConfig(configWith(moveHttpchkHeaders(options)), binary);
        expect(check.output).not.toMatch(/WARNING|ALERT/);
        expect(check.ok).toBe(true);
      },
    );
  }
});
