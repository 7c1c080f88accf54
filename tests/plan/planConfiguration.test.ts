import { describe, expect, it } from "vitest";

import { ConfigError, ServiceConflictError } from "../../src/lib/errors.js";
import type { HookInputs, RemoteUnit } from "../../src/juju/hookInputs.js";
import { planFromInputs } from "../helpers/planFromInputs.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import { makeCertificate } from "../helpers/certificates.js";

const defaultCert = makeCertificate("default.example");
const shopCert = makeCertificate("shop.example");
const paths = { haproxyLib: "/var/lib/haproxy", haproxyRun: "/run/haproxy" };
const b64 = (text: string) => Buffer.from(text).toString("base64");

function inputs(config: Record<string, unknown>, reverseproxy: RemoteUnit[] = []): HookInputs {
  return {
    unitName: "haproxy/0",
    privateAddress: "10.0.0.1",
    publicAddress: "203.0.113.1",
    config,
    reverseproxy,
    peers: [],
  };
}
const webUnit = (n: number, settings: Record<string, string> = { port: "80" }): RemoteUnit => ({
  relationId: "reverseproxy:1",
  unit: `web/${n}`,
  settings: { "private-address": `10.0.0.${10 + n}`, ...settings },
});
const plan = (config: Record<string, unknown>, units: RemoteUnit[] = []) =>
  planFromInputs(inputs(config, units), paths);
const render = (config: Record<string, unknown>, units: RemoteUnit[] = []) =>
  renderHaproxyConfig(plan(config, units).config);

describe("planConfiguration", () => {
  it("replaces {i} with each server's index in its backend", () => {
    const text = render({}, [webUnit(0), webUnit(1)]);
    expect(text).toContain("server web-0-80 10.0.0.10:80 maxconn 100 cookie S0 check");
    expect(text).toContain("server web-1-80 10.0.0.11:80 maxconn 100 cookie S1 check");
  });

  it("keeps each server's {i} while it stays; a new server takes the lowest free one", () => {
    const serverLines = (text: string) =>
      text.split("\n").filter((line) => /^\s+server /.test(line));
    const first = render({}, [webUnit(0), webUnit(1), webUnit(2)]);
    const departed = renderHaproxyConfig(
      planFromInputs(inputs({}, [webUnit(0), webUnit(2)]), paths, first).config,
    );
    expect(serverLines(departed)).toEqual([
      "    server web-0-80 10.0.0.10:80 maxconn 100 cookie S0 check",
      "    server web-2-80 10.0.0.12:80 maxconn 100 cookie S2 check",
    ]);
    const joined = renderHaproxyConfig(
      planFromInputs(inputs({}, [webUnit(0), webUnit(2), webUnit(3)]), paths, departed).config,
    );
    expect(serverLines(joined)).toEqual([
      "    server web-0-80 10.0.0.10:80 maxconn 100 cookie S0 check",
      "    server web-2-80 10.0.0.12:80 maxconn 100 cookie S2 check",
      "    server web-3-80 10.0.0.13:80 maxconn 100 cookie S1 check",
    ]);
    // From scratch, the same units are numbered by position.
    expect(serverLines(render({}, [webUnit(0), webUnit(2), webUnit(3)]))).toEqual([
      "    server web-0-80 10.0.0.10:80 maxconn 100 cookie S0 check",
      "    server web-2-80 10.0.0.12:80 maxconn 100 cookie S1 check",
      "    server web-3-80 10.0.0.13:80 maxconn 100 cookie S2 check",
    ]);
  });

  it("counts servers and reports the ports to open", () => {
    const result = plan({ enable_monitoring: true, monitoring_password: "s3cret" }, [webUnit(0)]);
    expect(result.serverCount).toBe(1);
    expect(result.ports).toEqual([80, 10000]);
  });

  it("renders the monitoring listener with the old charm's names and access rules", () => {
    const text = render({
      enable_monitoring: true,
      monitoring_password: "s3cret",
      monitoring_allowed_cidr: "127.0.0.1/32 192.0.2.0/24",
    });
    expect(text).toContain(
      [
        "frontend haproxy-0-10000",
        "    bind 0.0.0.0:10000",
        "    default_backend haproxy_monitoring",
        "    mode http",
        "    acl allowed_cidr src 127.0.0.1/32 192.0.2.0/24",
        "    http-request deny unless allowed_cidr",
        "    option idle-close-on-response",
        "",
        "backend haproxy_monitoring",
        "    mode http",
        "    stats enable",
        "    stats uri /",
        "    stats realm Haproxy\\ Statistics",
        "    stats auth haproxy:s3cret",
        "    stats refresh 3",
      ].join("\n"),
    );
  });

  it("uses the generated password when the config says changeme", () => {
    const text = renderHaproxyConfig(
      planFromInputs(
        { ...inputs({ enable_monitoring: true }), generatedMonitoringPassword: "Gen3rated" },
        paths,
      ).config,
    );
    expect(text).toContain("stats auth haproxy:Gen3rated");
  });

  it("writes errorfiles and inline certificates under the service's directory", () => {
    const services = `
- service_name: shop
  service_port: 443
  crts: [DEFAULT, ${b64(shopCert.pem)}]
  errorfiles: [{http_status: 503, content: ${b64("HTTP/1.0 503 Busy\r\n\r\nbusy")}}]
  servers: [[s1, 10.0.0.5, 80, check]]
`;
    const result = plan({
      services,
      ssl_cert: defaultCert.base64Certificate,
      ssl_key: defaultCert.base64Key,
    });
    expect(result.files).toEqual([
      { path: "/var/lib/haproxy/default.pem", content: defaultCert.pem, mode: 0o600, secret: true },
      {
        path: "/var/lib/haproxy/service_shop/503.http",
        content: "HTTP/1.0 503 Busy\r\n\r\nbusy",
        mode: 0o644,
        secret: false,
      },
      {
        path: "/var/lib/haproxy/service_shop/1.pem",
        content: shopCert.pem,
        mode: 0o600,
        secret: true,
      },
    ]);
    const text = renderHaproxyConfig(result.config);
    expect(text).toContain(
      "bind 0.0.0.0:443 ssl crt /var/lib/haproxy/default.pem crt /var/lib/haproxy/service_shop/1.pem\n",
    );
    expect(text).toContain("errorfile 503 /var/lib/haproxy/service_shop/503.http");
  });

  it("writes one file for a status given twice, with the later content", () => {
    const services = `
- service_name: shop
  service_port: 80
  errorfiles:
    - {http_status: 503, content: ${b64("HTTP/1.0 503 First\r\n\r\nfirst")}}
    - {http_status: 404, content: ${b64("HTTP/1.0 404 Gone\r\n\r\ngone")}}
    - {http_status: 503, content: ${b64("HTTP/1.0 503 Second\r\n\r\nsecond")}}
  servers: [[s1, 10.0.0.5, 80, check]]
`;
    const result = plan({ services });
    expect(result.files.map((file) => [file.path, file.content])).toEqual([
      ["/var/lib/haproxy/service_shop/503.http", "HTTP/1.0 503 Second\r\n\r\nsecond"],
      ["/var/lib/haproxy/service_shop/404.http", "HTTP/1.0 404 Gone\r\n\r\ngone"],
    ]);
    expect(renderHaproxyConfig(result.config).match(/errorfile 503 /g)).toHaveLength(1);
  });

  it.each([
    [
      "a certificate that is not PEM",
      () => ({ ssl_cert: b64("not a cert"), ssl_key: defaultCert.base64Key }),
      "ssl_cert",
      "not a base64-encoded PEM certificate",
    ],
    [
      "a key that is not PEM",
      () => ({ ssl_cert: defaultCert.base64Certificate, ssl_key: b64("nope") }),
      "ssl_key",
      "unencrypted PEM private key",
    ],
    [
      "a key of another certificate",
      () => ({ ssl_cert: defaultCert.base64Certificate, ssl_key: shopCert.base64Key }),
      "ssl_key",
      "does not match",
    ],
  ])("blocks on %s, naming the option", (_title, config, option, message) => {
    let caught: unknown;
    try {
      plan(config());
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).toMatchObject({ option, message: expect.stringContaining(message) });
  });

  it("skips a relation unit whose inline certificate does not match its key", () => {
    const mixed = b64(shopCert.certificate + defaultCert.key);
    const result = plan({}, [
      webUnit(0),
      webUnit(1, { services: `- {service_name: shop, service_port: 443, crts: [${mixed}]}` }),
    ]);
    expect(result.skippedUnits).toEqual([
      expect.objectContaining({
        unit: "web/1",
        reason: expect.stringContaining("does not match its certificate"),
      }),
    ]);
    expect(result.services.map((s) => s.name)).toEqual(["haproxy_service"]);
  });

  it("lets a related service take port 80 from the default config's empty service", () => {
    const result = plan({}, [
      webUnit(0, {
        services: "- {service_name: app, service_port: 80, servers: [[a, 10.0.0.5, 80, check]]}",
      }),
    ]);
    expect(result.services.map((s) => s.name)).toEqual(["app"]);
    expect(result.displacedServices).toEqual(["haproxy_service"]);
  });

  it("refuses two services with servers on one port", () => {
    expect(() =>
      plan({}, [
        webUnit(0),
        webUnit(1, {
          services: "- {service_name: app, service_port: 80, servers: [[a, 10.0.0.5, 80, check]]}",
        }),
      ]),
    ).toThrow(ServiceConflictError);
  });

  it.each([
    ["services that are not YAML", { services: "- [" }, "services"],
    [
      "a service port that is not a number",
      { services: "- {service_name: a, service_port: http}" },
      "services",
    ],
    ["a newline in a global option", { global_user: "haproxy\n  daemon" }, "global_user"],
    ["a two-word default mode", { default_mode: "http tcp" }, "default_mode"],
    ["a wrongly typed option", { global_maxconn: "lots" }, "global_maxconn"],
    ["ssl_cert without ssl_key", { ssl_cert: b64("C") }, "ssl_key"],
    ["ssl_cert that is not base64", { ssl_cert: "%%%", ssl_key: "%%%" }, "ssl_cert"],
    [
      "a password with a space",
      { enable_monitoring: true, monitoring_password: "a b" },
      "monitoring_password",
    ],
    ["userlists that are not a list", { userlists: "name: x" }, "userlists"],
  ])("rejects %s with a ConfigError naming the option", (_title, config, option) => {
    let caught: unknown;
    try {
      plan(config);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).option).toBe(option);
  });

  it("renders userlists and optional global settings", () => {
    const text = render({
      userlists:
        "- list1:\n    groups: [G1 users tiger]\n    users: [tiger insecure-password pw]\n",
      global_hard_stop_after: "10m",
      global_stats_socket: true,
      global_default_bind_options: "no-tls-tickets",
    });
    expect(text).toContain(
      "userlist list1\n    group G1 users tiger\n    user tiger insecure-password pw\n",
    );
    expect(text).toContain("    hard-stop-after 10m\n");
    expect(text).toContain("    stats socket /var/run/haproxy/haproxy.sock mode 0600\n");
    expect(text).toContain("    ssl-default-bind-options no-tls-tickets\n");
  });

  it("gives the same bytes for the same inputs in any unit order", () => {
    const units = [webUnit(2), webUnit(0), webUnit(1)];
    expect(render({}, units)).toBe(render({}, [...units].reverse()));
  });
});

describe("options haproxy no longer knows", () => {
  it("ignores global_debug with a note instead of rendering a keyword haproxy 2.6 rejects", () => {
    const result = plan({ global_debug: true });
    expect(renderHaproxyConfig(result.config)).not.toMatch(/^\s+debug$/m);
    expect(result.notes).toEqual([expect.stringContaining("global_debug is ignored")]);
  });
});

describe("reload behaviour", () => {
  it("bounds old workers with hard-stop-after 10m unless the operator sets another value", () => {
    expect(render({})).toContain("    hard-stop-after 10m\n");
    expect(render({ global_hard_stop_after: "2m" })).toContain("    hard-stop-after 2m\n");
  });

  const frontendOf = (text: string, port: number) =>
    (text.split("\n\n").find((stanza) => stanza.startsWith(`frontend haproxy-0-${port}\n`)) ?? "") +
    "\n";
  const servicesYaml = (options: string[]) =>
    `- {service_name: app, service_host: 0.0.0.0, service_port: 8080, ` +
    `service_options: [${options.map((o) => JSON.stringify(o)).join(", ")}], ` +
    `servers: [[a, 10.0.0.5, 80, check]]}`;
  const RELOAD_SAFE = "    option idle-close-on-response\n";

  it("answers an idle keep-alive client's next request on reload in HTTP frontends", () => {
    expect(frontendOf(render({ services: servicesYaml([]) }), 8080)).toContain(RELOAD_SAFE);
    expect(
      frontendOf(render({ services: servicesYaml(["mode http"]), default_mode: "tcp" }), 8080),
    ).toContain(RELOAD_SAFE);
  });

  it("leaves TCP frontends without it, where haproxy would warn that it is ignored", () => {
    const tcpService = frontendOf(render({ services: servicesYaml(["mode tcp"]) }), 8080);
    expect(tcpService).toContain("    mode tcp\n");
    expect(tcpService).not.toContain("idle-close-on-response");
    expect(
      frontendOf(render({ services: servicesYaml([]), default_mode: "tcp" }), 8080),
    ).not.toContain("idle-close-on-response");
  });

  it("keeps the operator's own choice of the option", () => {
    const frontend = frontendOf(
      render({ services: servicesYaml(["no option idle-close-on-response"]) }),
      8080,
    );
    expect(frontend.match(/idle-close-on-response/g)).toEqual(["idle-close-on-response"]);
    expect(frontend).toContain("    no option idle-close-on-response\n");
  });
});

describe("the haproxy-route hostnames' certificates", () => {
  const SHOP = "shop.example.com";
  const TEA = "tea.example.com";
  const crtList = "/var/lib/haproxy/certs/hostnames.crtlist";
  const certFile = (hostname: string) => `/var/lib/haproxy/certs/${hostname}.pem`;

  /** One application per hostname; the certificates relation's certificates as given. */
  function routeInputs(
    pems: Record<string, string>,
    config: Record<string, unknown> = {},
    extra: Partial<HookInputs> = {},
  ): HookInputs {
    const apps = [SHOP, TEA].map((hostname, i) => ({
      relationId: `haproxy-route:${i + 1}`,
      app: hostname.split(".")[0] as string,
      hostname,
    }));
    return {
      ...inputs({ services: "", ...config }),
      haproxyRouteApps: apps.map(({ relationId, app, hostname }) => ({
        relationId,
        app,
        settings: {
          service: JSON.stringify(app),
          ports: JSON.stringify([8080]),
          hostname: JSON.stringify(hostname),
        },
      })),
      haproxyRouteUnits: apps.map(({ relationId, app }) => ({
        relationId,
        unit: `${app}/0`,
        settings: { address: JSON.stringify("10.0.0.50") },
      })),
      hostnameCertificates: pems,
      ...extra,
    };
  }
  const shop = makeCertificate(SHOP);
  const tea = makeCertificate(TEA);
  const bindOf = (text: string) => /^\s+bind 0\.0\.0\.0:443 .*$/m.exec(text)?.[0].trim();

  it("serves them through one crt-list, after external_hostname's certificate", () => {
    const planned = planFromInputs(
      routeInputs(
        { [TEA]: tea.pem, [SHOP]: shop.pem },
        { external_hostname: "www.example.com" },
        { relationCertificatePem: defaultCert.pem },
      ),
      paths,
    );
    expect(bindOf(renderHaproxyConfig(planned.config))).toBe(
      `bind 0.0.0.0:443 ssl crt /var/lib/haproxy/certificates-relation.pem crt-list ${crtList}`,
    );
    const files = new Map(planned.files.map((file) => [file.path, file]));
    expect(files.get(crtList)).toEqual({
      path: crtList,
      content: `${certFile(SHOP)}\n${certFile(TEA)}\n`,
      mode: 0o644,
      secret: false,
    });
    expect(files.get(certFile(TEA))).toMatchObject({ content: tea.pem, secret: true });
  });

  it("changes only the crt-list and a certificate file when a hostname's certificate arrives", () => {
    const before = planFromInputs(routeInputs({ [SHOP]: shop.pem }), paths);
    const after = planFromInputs(routeInputs({ [SHOP]: shop.pem, [TEA]: tea.pem }), paths);
    expect(renderHaproxyConfig(after.config)).toBe(renderHaproxyConfig(before.config));
    expect(bindOf(renderHaproxyConfig(after.config))).toBe(
      `bind 0.0.0.0:443 ssl crt-list ${crtList}`,
    );
    const contents = (files: readonly { path: string; content: string }[]) =>
      new Map(files.map((file) => [file.path, file.content]));
    const [was, is] = [contents(before.files), contents(after.files)];
    const differing = [...new Set([...was.keys(), ...is.keys()])].filter(
      (path) => was.get(path) !== is.get(path),
    );
    expect(differing.sort()).toEqual([crtList, certFile(TEA)]);
  });

  it("writes no crt-list without a hostname certificate: haproxy refuses an empty one", () => {
    const planned = planFromInputs(routeInputs({}), paths);
    expect(planned.files.map((file) => file.path)).not.toContain(crtList);
    expect(renderHaproxyConfig(planned.config)).not.toContain("crt-list");
  });
});
