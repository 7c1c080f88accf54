import { describe, expect, it } from "vitest";

import type { RemoteUnit } from "../../../src/juju/hookInputs.js";
import { collectServices } from "../../../src/relations/reverseproxy/collectServices.js";
import { parseServicesYaml } from "../../../src/model/parseServices.js";

const DEFAULT_CONFIG = `
- service_name: haproxy_service
  service_host: "0.0.0.0"
  service_port: 80
  service_options: [balance leastconn, cookie SRVNAME insert]
  server_options: maxconn 100 cookie S{i} check
`;

function unit(
  name: string,
  settings: Record<string, string>,
  relationId = "reverseproxy:1",
): RemoteUnit {
  return {
    relationId,
    unit: name,
    settings: { "private-address": `10.0.0.${name.split("/")[1]}`, ...settings },
  };
}

function collect(config: string, units: RemoteUnit[]) {
  const result = collectServices(parseServicesYaml(config, "services"), units);
  const byName = new Map(result.services.map((s) => [s.name, s]));
  return { ...result, byName };
}

describe("single-service units", () => {
  it("joins the default service with a server named after the unit and port (seed quick start)", () => {
    const { byName } = collect(DEFAULT_CONFIG, [
      unit("my-web-app/0", { port: "80" }),
      unit("my-web-app/1", { port: "80" }),
    ]);
    expect(byName.get("haproxy_service")?.servers).toEqual([
      {
        name: "my-web-app-0-80",
        address: "10.0.0.0",
        port: "80",
        options: ["maxconn 100 cookie S{i} check"],
      },
      {
        name: "my-web-app-1-80",
        address: "10.0.0.1",
        port: "80",
        options: ["maxconn 100 cookie S{i} check"],
      },
    ]);
  });

  it("uses private-address, not the hostname the unit sets", () => {
    const { byName } = collect(DEFAULT_CONFIG, [
      unit("web/3", { port: "8080", hostname: "198.51.100.9" }),
    ]);
    expect(byName.get("haproxy_service")?.servers?.[0]).toMatchObject({
      address: "10.0.0.3",
      port: "8080",
    });
  });

  it("orders units naturally so server indexes are stable (app/2 before app/10)", () => {
    const { byName } = collect(DEFAULT_CONFIG, [
      unit("web/10", { port: "80" }),
      unit("web/2", { port: "80" }),
    ]);
    expect(byName.get("haproxy_service")?.servers?.map((s) => s.name)).toEqual([
      "web-2-80",
      "web-10-80",
    ]);
  });

  const twoServices = `
- service_name: first
  service_port: 80
- service_name: my_web_app
  service_port: 81
  server_options: [check, inter 2000]
- service_name: blog
  service_port: 82
- service_name: web_service
  service_port: 83
`;

  it.each([
    ["service_name picks the named service", { service_name: "my_web_app" }, ["my_web_app"]],
    [
      "sitenames adds every named service that exists",
      { sitenames: "blog nope my_web_app" },
      ["my_web_app", "blog"],
    ],
    ["<app>_service is used when it exists", {}, ["web_service"]],
  ])("%s", (_title, settings, expected) => {
    const { byName } = collect(twoServices, [unit("web/0", { port: "8000", ...settings })]);
    const withServer = [...byName.values()]
      .filter((s) => (s.servers ?? []).length > 0)
      .map((s) => s.name);
    expect(withServer.sort()).toEqual(
      [...expected, ...(expected.includes("web_service") ? [] : ["web_service"])].sort(),
    );
  });

  it("a service named exactly like the application is used", () => {
    const { byName } = collect(
      "- {service_name: blog, service_port: 80}\n- {service_name: other}",
      [unit("blog/0", { port: "80" })],
    );
    expect(byName.get("blog")?.servers).toHaveLength(1);
    expect(byName.get("other")?.servers).toBeUndefined();
  });

  it("takes the service's server_options for the server line", () => {
    const { byName } = collect(twoServices, [
      unit("x/0", { port: "80", service_name: "my_web_app" }),
    ]);
    expect(byName.get("my_web_app")?.servers?.[0]?.options).toEqual(["check", "inter 2000"]);
  });

  it("skips a unit whose service_name does not exist, with the reason", () => {
    const result = collect(DEFAULT_CONFIG, [
      unit("web/0", { port: "80", service_name: "missing" }),
    ]);
    expect(result.byName.get("haproxy_service")?.servers).toBeUndefined();
    expect(result.skipped).toEqual([
      {
        relationId: "reverseproxy:1",
        unit: "web/0",
        invalid: true,
        reason: "service_name: no service named missing is configured",
      },
    ]);
  });

  it("notes a unit without a port as not ready yet, not as invalid", () => {
    const result = collect(DEFAULT_CONFIG, [unit("web/0", {})]);
    expect(result.skipped).toMatchObject([{ unit: "web/0", invalid: false }]);
  });
});

describe("relation-driven units", () => {
  const services = (port: string, server: string) => `
- service_name: my_web_app
  service_port: 80
  service_options: [mode http, balance leastconn]
  servers: [[${server}, 10.0.1.${port}, ${port}, option httpchk GET / HTTP/1.0]]
  backends:
    - backend_name: foo
      servers: [[${server}_foo, 10.0.1.${port}, 90${port}, check]]
`;

  it("unions servers and same-named backends' servers across units", () => {
    const { byName } = collect("", [
      unit("app/0", { services: services("1", "app_0") }),
      unit("app/1", { services: services("2", "app_1") }),
      unit("app/2", { services: services("1", "app_0") }), // exact duplicate: dropped
    ]);
    const service = byName.get("my_web_app");
    expect(service?.servers?.map((s) => s.name)).toEqual(["app_0", "app_1"]);
    expect(service?.backends?.map((b) => [b.name, b.servers.map((s) => s.name)])).toEqual([
      ["foo", ["app_0_foo", "app_1_foo"]],
    ]);
  });

  it("keeps the first unit's options when units disagree", () => {
    const { byName } = collect("", [
      unit("app/0", {
        services: "- {service_name: s, service_port: 80, service_options: [balance roundrobin]}",
      }),
      unit("app/1", {
        services: "- {service_name: s, service_port: 80, service_options: [balance leastconn]}",
      }),
    ]);
    expect(byName.get("s")?.serviceOptions).toEqual(["balance roundrobin"]);
  });

  it("config keys win over a relation's for a same-named service, servers come from the relation", () => {
    const { byName } = collect(DEFAULT_CONFIG, [
      unit("app/0", {
        services:
          "- {service_name: haproxy_service, service_port: 8080, servers: [[s1, 10.0.0.9, 80, check]]}",
      }),
    ]);
    expect(byName.get("haproxy_service")).toMatchObject({
      port: 80,
      servers: [{ name: "s1", address: "10.0.0.9" }],
    });
  });

  it("does not also add a unit that sets services single-service style", () => {
    const { byName } = collect(DEFAULT_CONFIG, [
      unit("app/0", { port: "80", services: "- {service_name: mine, service_port: 81}" }),
    ]);
    expect(byName.get("haproxy_service")?.servers).toBeUndefined();
  });

  it("reads apache2's all_services, reaching each service through the apache2 unit on its port", () => {
    const { byName } = collect("", [
      unit("apache2/4", {
        all_services:
          "- {service_name: site, service_port: 8443, servers: [[web, 10.9.9.9, 80, check]]}",
      }),
    ]);
    expect(byName.get("site")?.servers).toEqual([
      { name: "apache2-4-web", address: "10.0.0.4", port: "8443", options: ["check"] },
    ]);
  });

  it("serves every unit that publishes the same all_services, each under names of its own", () => {
    const allServices = `
- {service_name: site, service_port: 8081, servers: [[web0, 10.9.9.1, 80, check], [web1, 10.9.9.2, 80, check]]}
- {service_name: api, service_port: 8082, servers: [[api0, 10.9.9.3, 9000, ""]]}
`;
    const result = collect("", [
      unit("apache2/1", { all_services: allServices }),
      unit("apache2/0", { all_services: allServices }),
    ]);
    expect(result.skipped).toEqual([]);
    const servers = (name: string) =>
      result.byName.get(name)?.servers?.map((s) => `${s.name} ${s.address}:${s.port}`);
    expect(servers("site")).toEqual([
      "apache2-0-web0 10.0.0.0:8081",
      "apache2-0-web1 10.0.0.0:8081",
      "apache2-1-web0 10.0.0.1:8081",
      "apache2-1-web1 10.0.0.1:8081",
    ]);
    expect(servers("api")).toEqual([
      "apache2-0-api0 10.0.0.0:8082",
      "apache2-1-api0 10.0.0.1:8082",
    ]);
    // The same data gives the same names: nothing changes from one hook to the next.
    const again = collect("", [
      unit("apache2/0", { all_services: allServices }),
      unit("apache2/1", { all_services: allServices }),
    ]);
    expect(again.services).toEqual(result.services);
  });

  it("skips an all_services unit whose server name would grow past a valid name", () => {
    const long = "s".repeat(128);
    const result = collect(DEFAULT_CONFIG, [
      unit("apache2/0", {
        all_services: `- {service_name: site, service_port: 8081, servers: [[${long}, 10.9.9.1, 80, ""]]}`,
      }),
    ]);
    expect(result.byName.has("site")).toBe(false);
    expect(result.skipped).toEqual([
      expect.objectContaining({
        unit: "apache2/0",
        invalid: true,
        reason: expect.stringMatching(
          /^all_services \(site\)\.servers\[0\]: .* is not a valid name/,
        ),
      }),
    ]);
  });

  it("makes the first relation service the default when config has none", () => {
    const result = collect("", [
      unit("a/0", { services: "- {service_name: alpha, service_port: 80}" }),
      unit("b/0", { port: "80" }),
    ]);
    expect(result.defaultService).toBe("alpha");
    expect(result.byName.get("alpha")?.servers?.map((s) => s.name)).toEqual(["b-0-80"]);
  });
});

describe("untrusted relation data", () => {
  const good = unit("good/0", { port: "80" });
  it.each([
    ["newline in port", { port: "80\n    server evil 1.2.3.4:80" }, "port"],
    ["port out of range", { port: "70000" }, "port"],
    [
      "newline in private-address",
      { port: "80", "private-address": "10.0.0.1\nlisten x" },
      "private-address",
    ],
    [
      "path traversal in service name",
      { services: "- {service_name: ../../etc, service_port: 80}" },
      "service_name",
    ],
    [
      "slash in backend name",
      { services: "- {service_name: a, backends: [{backend_name: a/b, servers: []}]}" },
      "backend_name",
    ],
    [
      "newline inside an option",
      { services: '- {service_name: a, service_options: ["mode http\\nstats enable"]}' },
      "line break",
    ],
    [
      "newline in server options",
      { services: '- {service_name: a, servers: [[s, 10.0.0.1, 80, "check\\nbind :1"]]}' },
      "line break",
    ],
    ["services that are not YAML", { services: "- {service_name: [unclosed" }, "not valid YAML"],
    ["services that are not a list", { services: "just text" }, "expected a list"],
    [
      "a 1 MB value",
      { services: `- service_name: a\n  service_options: ["${"x".repeat(1024 * 1024)}"]` },
      "larger than",
    ],
    [
      "a server that is not a tuple",
      { services: "- {service_name: a, servers: [oops]}" },
      "expected a list",
    ],
    [
      "a .. crts directory",
      { services: "- {service_name: a, crts: [/var/lib/haproxy/../../etc]}" },
      "not a usable directory",
    ],
  ])("skips a unit with %s and serves the others", (_title, settings, problem) => {
    const result = collect(DEFAULT_CONFIG, [
      good,
      unit("bad/1", settings as Record<string, string>),
    ]);
    expect(result.byName.get("haproxy_service")?.servers?.map((s) => s.name)).toEqual([
      "good-0-80",
    ]);
    expect(result.skipped).toHaveLength(1);
    expect(result.skipped[0]).toMatchObject({ unit: "bad/1", invalid: true });
    expect(result.skipped[0]?.reason).toContain(problem);
  });

  it("survives a YAML alias bomb without expanding it", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]",
    ].join("\n");
    const result = collect(DEFAULT_CONFIG, [good, unit("bad/1", { services: bomb })]);
    expect(result.skipped[0]?.reason).toContain("expands to too much data");
    expect(result.byName.get("haproxy_service")?.servers).toHaveLength(1);
  });
});
