import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DefaultsSection, GlobalSection, HaproxyConfig } from "../../src/model/types.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import { makeCertificate } from "../helpers/certificates.js";
import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";

/** Real files that configurations refer to, created once for the whole file. */
interface Fixtures {
  /** A self-signed certificate and its key in one PEM, as haproxy wants. */
  readonly pem: string;
  /** A directory holding that PEM, for `crt <dir>`. */
  readonly pemDir: string;
  readonly errorfile503: string;
  readonly errorfile504: string;
}

interface RenderCase {
  readonly config: HaproxyConfig;
  readonly want: string;
  /** What `haproxy -c` says when it is not a clean exit 0. */
  readonly haproxyVerdict?: { readonly exitCode: number; readonly outputContains: string };
}

const minimalGlobal: GlobalSection = {
  logs: ["stdout local0"],
  maxconn: 4096,
  user: "haproxy",
  group: "haproxy",
  quiet: false,
  hardStopAfter: "10m",
  spreadChecks: 0,
  dhParam: 2048,
  bindCiphers: "ECDHE+AESGCM",
  statsSockets: [],
  serverStateFile: "/run/haproxy/server-state",
};

const minimalDefaults: DefaultsSection = {
  log: "global",
  mode: "http",
  options: [],
  retries: 3,
  timeouts: ["client 50000", "connect 5000", "server 50000"],
};

const minimalGlobalText = `global
    log stdout local0
    maxconn 4096
    user haproxy
    group haproxy
    hard-stop-after 10m
    spread-checks 0
    tune.ssl.default-dh-param 2048
    ssl-default-bind-ciphers ECDHE+AESGCM
    server-state-file /run/haproxy/server-state
`;

const minimalDefaultsText = `defaults
    log global
    mode http
    retries 3
    load-server-state-from-file global
    timeout client 50000
    timeout connect 5000
    timeout server 50000
`;

const cases: readonly (readonly [string, (fx: Fixtures) => RenderCase])[] = [
  [
    "a minimal configuration",
    () => ({
      config: { global: minimalGlobal, defaults: minimalDefaults, userlists: [], proxies: [] },
      want: `${minimalGlobalText}\n${minimalDefaultsText}`,
      // Valid, but haproxy would not start without a frontend: the planner must know.
      haproxyVerdict: { exitCode: 2, outputContains: "no listener" },
    }),
  ],
  [
    "every global option set",
    () => ({
      config: {
        global: {
          logs: ["stdout format raw local0", "/dev/log local1 notice"],
          maxconn: 20000,
          user: "haproxy",
          group: "haproxy",
          quiet: true,
          hardStopAfter: "30s",
          spreadChecks: 5,
          dhParam: 4096,
          bindCiphers: "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384",
          bindOptions: "no-sslv3 no-tls-tickets",
          statsSockets: [
            "/run/haproxy/admin.sock mode 0600 level admin",
            "ipv4@127.0.0.1:9999 level user",
          ],
          serverStateFile: "/run/haproxy/server-state",
        },
        defaults: {
          log: "global",
          mode: "tcp",
          options: ["tcplog", "dontlognull"],
          retries: 5,
          timeouts: ["queue 20000", "client 50000", "connect 5000", "server 50000"],
        },
        userlists: [],
        proxies: [
          {
            frontend: {
              name: "haproxy-0-3306",
              bind: "127.0.0.1:3306",
              defaultBackend: "db",
              options: [],
            },
            backends: [
              {
                name: "db",
                options: [],
                errorfiles: [],
                servers: [{ name: "db-0", address: "10.0.0.9", port: "3306", options: "check" }],
              },
            ],
          },
        ],
      },
      want: `global
    log stdout format raw local0
    log /dev/log local1 notice
    maxconn 20000
    user haproxy
    group haproxy
    quiet
    hard-stop-after 30s
    spread-checks 5
    tune.ssl.default-dh-param 4096
    ssl-default-bind-ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384
    ssl-default-bind-options no-sslv3 no-tls-tickets
    stats socket /run/haproxy/admin.sock mode 0600 level admin
    stats socket ipv4@127.0.0.1:9999 level user
    server-state-file /run/haproxy/server-state

defaults
    log global
    mode tcp
    option tcplog
    option dontlognull
    retries 5
    load-server-state-from-file global
    timeout queue 20000
    timeout client 50000
    timeout connect 5000
    timeout server 50000

frontend haproxy-0-3306
    bind 127.0.0.1:3306
    default_backend db

backend db
    server db-0 10.0.0.9:3306 check
`,
    }),
  ],
  [
    "userlists",
    () => ({
      config: {
        global: minimalGlobal,
        defaults: minimalDefaults,
        userlists: [
          {
            name: "admins",
            groups: ["ops", "dev"],
            users: [
              "alice insecure-password s3cret groups ops",
              "bob insecure-password hunter2 groups ops,dev",
            ],
          },
          { name: "readers", groups: [], users: ["carol insecure-password pw"] },
        ],
        proxies: [
          {
            frontend: {
              name: "haproxy-0-80",
              bind: "0.0.0.0:80",
              defaultBackend: "private",
              options: [
                "acl authorized http_auth(admins)",
                "http-request auth realm private unless authorized",
              ],
            },
            backends: [{ name: "private", options: [], errorfiles: [], servers: [] }],
          },
        ],
      },
      want: `${minimalGlobalText}
${minimalDefaultsText}
userlist admins
    group ops
    group dev
    user alice insecure-password s3cret groups ops
    user bob insecure-password hunter2 groups ops,dev

userlist readers
    user carol insecure-password pw

frontend haproxy-0-80
    bind 0.0.0.0:80
    default_backend private
    acl authorized http_auth(admins)
    http-request auth realm private unless authorized

backend private
`,
    }),
  ],
  [
    "several proxies with extra backends",
    () => ({
      config: {
        global: minimalGlobal,
        defaults: minimalDefaults,
        userlists: [],
        proxies: [
          {
            frontend: {
              name: "haproxy-0-10000",
              bind: "0.0.0.0:10000",
              defaultBackend: "haproxy_monitoring",
              options: [
                "mode http",
                "acl allowed_cidr src 127.0.0.1/32",
                "http-request deny unless allowed_cidr",
              ],
            },
            backends: [
              {
                name: "haproxy_monitoring",
                options: [
                  "mode http",
                  "stats enable",
                  "stats uri /",
                  "stats auth haproxy:pw",
                  "stats refresh 3",
                ],
                errorfiles: [],
                servers: [],
              },
            ],
          },
          {
            frontend: {
              name: "haproxy-0-80",
              bind: "0.0.0.0:80",
              defaultBackend: "web",
              options: ["acl is_api path_beg /api", "use_backend api if is_api"],
            },
            backends: [
              {
                name: "web",
                options: ["balance leastconn", "cookie SRVNAME insert"],
                errorfiles: [],
                servers: [
                  {
                    name: "web-0-8080",
                    address: "10.0.0.5",
                    port: "8080",
                    options: "maxconn 100 cookie S0 check",
                  },
                  {
                    name: "web-1-8080",
                    address: "10.0.0.6",
                    port: "8080",
                    options: "maxconn 100 cookie S1 check",
                  },
                ],
              },
              {
                name: "api",
                options: ["balance leastconn", "cookie SRVNAME insert"],
                errorfiles: [],
                servers: [{ name: "api-0", address: "10.0.1.5", port: "9000", options: "" }],
              },
            ],
          },
          {
            frontend: {
              name: "haproxy-0-82",
              bind: "127.0.0.1:82",
              defaultBackend: "bare",
              options: [],
            },
            backends: [
              {
                name: "bare",
                options: [],
                errorfiles: [],
                servers: [{ name: "bare-0", address: "localhost", port: "8082", options: "" }],
              },
            ],
          },
        ],
      },
      want: `${minimalGlobalText}
${minimalDefaultsText}
frontend haproxy-0-10000
    bind 0.0.0.0:10000
    default_backend haproxy_monitoring
    mode http
    acl allowed_cidr src 127.0.0.1/32
    http-request deny unless allowed_cidr

backend haproxy_monitoring
    mode http
    stats enable
    stats uri /
    stats auth haproxy:pw
    stats refresh 3

frontend haproxy-0-80
    bind 0.0.0.0:80
    default_backend web
    acl is_api path_beg /api
    use_backend api if is_api

backend web
    balance leastconn
    cookie SRVNAME insert
    server web-0-8080 10.0.0.5:8080 maxconn 100 cookie S0 check
    server web-1-8080 10.0.0.6:8080 maxconn 100 cookie S1 check

backend api
    balance leastconn
    cookie SRVNAME insert
    server api-0 10.0.1.5:9000

frontend haproxy-0-82
    bind 127.0.0.1:82
    default_backend bare

backend bare
    server bare-0 localhost:8082
`,
    }),
  ],
  [
    "TLS bind parameters and errorfiles",
    (fx) => ({
      config: {
        global: { ...minimalGlobal, bindOptions: "no-sslv3" },
        defaults: minimalDefaults,
        userlists: [],
        proxies: [
          {
            frontend: {
              name: "haproxy-0-443",
              bind: `0.0.0.0:443 ssl crt ${fx.pem} no-sslv3`,
              defaultBackend: "secure",
              options: [],
            },
            backends: [
              {
                name: "secure",
                options: ["balance roundrobin"],
                errorfiles: [
                  { status: 503, path: fx.errorfile503 },
                  { status: 504, path: fx.errorfile504 },
                ],
                servers: [
                  {
                    name: "app-0",
                    address: "10.0.0.7",
                    port: "8443",
                    options: "ssl verify none check",
                  },
                ],
              },
            ],
          },
          {
            frontend: {
              name: "haproxy-0-8443",
              bind: `[::]:8443 ssl crt ${fx.pemDir} no-sslv3`,
              defaultBackend: "dir_certs",
              options: [],
            },
            backends: [{ name: "dir_certs", options: [], errorfiles: [], servers: [] }],
          },
        ],
      },
      want: `global
    log stdout local0
    maxconn 4096
    user haproxy
    group haproxy
    hard-stop-after 10m
    spread-checks 0
    tune.ssl.default-dh-param 2048
    ssl-default-bind-ciphers ECDHE+AESGCM
    ssl-default-bind-options no-sslv3
    server-state-file /run/haproxy/server-state

${minimalDefaultsText}
frontend haproxy-0-443
    bind 0.0.0.0:443 ssl crt ${fx.pem} no-sslv3
    default_backend secure

backend secure
    balance roundrobin
    errorfile 503 ${fx.errorfile503}
    errorfile 504 ${fx.errorfile504}
    server app-0 10.0.0.7:8443 ssl verify none check

frontend haproxy-0-8443
    bind [::]:8443 ssl crt ${fx.pemDir} no-sslv3
    default_backend dir_certs

backend dir_certs
`,
    }),
  ],
];

let fixtureDir = "";
let fixtures: Fixtures;

beforeAll(async () => {
  fixtureDir = await mkdtemp(join(tmpdir(), "render-fixtures-"));
  const pemDir = join(fixtureDir, "certs");
  await mkdir(pemDir);
  const pemText = makeCertificate("render-test").pem;
  const pem = join(fixtureDir, "default.pem");
  await writeFile(pem, pemText);
  await writeFile(join(pemDir, "0.pem"), pemText);
  const errorPage = (status: string) =>
    `HTTP/1.0 ${status}\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<h1>${status}</h1>\n`;
  const errorfile503 = join(fixtureDir, "503.http");
  const errorfile504 = join(fixtureDir, "504.http");
  await writeFile(errorfile503, errorPage("503 Service Unavailable"));
  await writeFile(errorfile504, errorPage("504 Gateway Timeout"));
  fixtures = { pem, pemDir, errorfile503, errorfile504 };
});

afterAll(async () => {
  if (fixtureDir) await rm(fixtureDir, { recursive: true, force: true });
});

describe.each(cases)("rendering %s", (_name, build) => {
  it("prints the model as the expected haproxy.cfg text", () => {
    const { config, want } = build(fixtures);
    expect(renderHaproxyConfig(config)).toBe(want);
  });

  it("gives haproxy -c the verdict expected", async () => {
    const { config, haproxyVerdict } = build(fixtures);
    const result = await checkHaproxyConfig(renderHaproxyConfig(config));
    if (haproxyVerdict === undefined) {
      expect(result.output).not.toContain("[ALERT]");
      expect(result.ok, result.output).toBe(true);
    } else {
      expect(result.exitCode, result.output).toBe(haproxyVerdict.exitCode);
      expect(result.output).toContain(haproxyVerdict.outputContains);
    }
  });
});

describe("renderHaproxyConfig", () => {
  it("fails loudly on a model missing a field instead of printing a blank", () => {
    const globalWithoutUser: Record<string, unknown> = { ...minimalGlobal };
    delete globalWithoutUser["user"];
    const broken = {
      global: globalWithoutUser,
      defaults: minimalDefaults,
      userlists: [],
      proxies: [],
    } as unknown as HaproxyConfig;
    expect(() => renderHaproxyConfig(broken)).toThrow(/"user" not defined/);
  });
});
