// What a related application may put into haproxy.cfg: the classic charm's
// real uses pass, anything that names a file, a program, the environment or
// another address is refused with the field and the reason.
import { describe, expect, it } from "vitest";

import { InvalidField } from "../../src/model/fieldChecks.js";
import {
  RelationPolicy,
  haproxyWords,
  refusedAddressKind,
} from "../../src/model/relationPolicy.js";

const untrusted = () => new RelationPolicy({ trusted: false, ownAddresses: ["10.0.0.1"] });

function refusal(check: () => unknown): string {
  try {
    check();
  } catch (error) {
    if (error instanceof InvalidField) return error.message;
    throw error;
  }
  return "accepted";
}

describe("service options from a relation", () => {
  it.each([
    "mode http",
    "balance leastconn",
    "option httpchk GET /health HTTP/1.0",
    "option forwardfor",
    "no option http-server-close",
    "acl foo path_beg -i /foo",
    "use_backend foo if foo",
    "timeout server 30s",
    "cookie SRVNAME insert",
    "http-request set-header X-Forwarded-Proto https if { ssl_fc }",
    "http-request return status 200 content-type text/plain string ok",
    "http-request deny deny_status 403 if { src 192.0.2.0/24 }",
    "http-response set-header Strict-Transport-Security max-age=31536000",
    "tcp-request content accept if { req_ssl_hello_type 1 }",
    "stick-table type ip size 200k expire 30m",
    "stick on src",
    "log global",
    "http-check expect status 200",
    "errorloc 503 https://status.example.com/",
    "filter compression",
    "compression algo gzip",
    "default-server inter 2s fall 3 ssl verify required ca-file @system-ca",
    "http-request deny if { path_reg ^/admin$ } # no admin",
    "http-request set-header X-Lua-Version 5.4",
  ])("accepts %s", (line) => {
    expect(refusal(() => untrusted().serviceLine(line, "service_options[0]"))).toBe("accepted");
  });

  it.each([
    [
      "http-request return status 200 content-type text/plain file /etc/shadow",
      '"file" names a file',
    ],
    [
      "http-request return status 200 lf-file /var/lib/juju/agents/agent.conf",
      '"lf-file" names a file',
    ],
    ['http-request return status 200 "fi"le /etc/shadow', '"file" names a file'],
    ["http-request return status 200 \\x66ile /etc/shadow", '"file" names a file'],
    ["http-request return status 200 'lf-file' /etc/shadow", '"lf-file" names a file'],
    ["http-error status 503 errorfile /etc/shadow", '"errorfile" names a file'],
    ["errorfile 503 /etc/shadow", 'may not set "errorfile"'],
    ["errorloc 503 /etc/shadow", "http:// or https:// URL"],
    ["acl evil src -f /etc/shadow", '"-f" names a file'],
    ["use_backend %[req.hdr(host),lower,map(/etc/shadow)]", "reads a file"],
    ["http-request set-header X %[src,map_ip(/etc/shadow)]", "reads a file"],
    ["http-request set-map(/etc/haproxy/hosts.map) %[src] 1", 'the "set-map" action'],
    ["http-request lua.evil", 'the "lua.evil" action'],
    ["http-request set-header X %[src,lua.evil]", "runs Lua"],
    ["use_backend %[lua.pick]", "runs Lua"],
    ["http-request use-service prometheus-exporter", 'the "use-service" action'],
    ["tcp-request content use-service lua.evil", 'the "use-service" action'],
    ["http-request set-dst ipv4(127.0.0.1)", 'the "set-dst" action'],
    ["option external-check", '"option external-check" is refused'],
    ["no option transparent", '"option transparent" is refused'],
    ["option http_proxy", '"option http_proxy" is refused'],
    ["external-check command /bin/sh", 'may not set "external-check"'],
    ["filter spoe engine x config /etc/shadow", '"filter spoe" loads'],
    ["log /dev/log local0", '"log" may only be "log global"'],
    ["log 127.0.0.1:514 local0", '"log" may only be "log global"'],
    ["stats socket /tmp/admin.sock level admin", 'may not set "stats"'],
    ["stats admin if TRUE", 'may not set "stats"'],
    ["load-server-state-from-file global", 'may not set "load-server-state-from-file"'],
    ["server evil 127.0.0.1:8404", 'may not set "server"'],
    ["bind :8443 ssl crt /var/lib/haproxy-charm/", 'may not set "bind"'],
    ["lua-load /tmp/evil.lua", 'may not set "lua-load"'],
    ["tcp-check connect port 8404 addr 127.0.0.1", '"tcp-check ... addr"'],
    ['http-request set-header X-Secret "$HOME"', "reads haproxy's environment"],
    ['http-request set-header X-Secret "${HAPROXY_CFGFILES}"', "reads haproxy's environment"],
    ["default-server crt /var/lib/haproxy/default.pem", '"crt" names a file'],
  ])("refuses %s", (line, reason) => {
    const message = refusal(() =>
      untrusted().serviceLine(line, "services[0] (web).service_options[3]"),
    );
    expect(message).toContain("services[0] (web).service_options[3]:");
    expect(message).toContain(reason);
  });

  it("takes everything when the operator trusts relation data", () => {
    const trusted = new RelationPolicy({ trusted: true });
    const line = "http-request return status 200 content-type text/plain file /etc/hostname";
    expect(trusted.serviceLine(line, "x")).toBe(line);
    expect(trusted.backendAddress("127.0.0.1", "x")).toBe("127.0.0.1");
  });
});

describe("server options from a relation", () => {
  it.each([
    ["check", "accepted"],
    ["maxconn 100 cookie S{i} check inter 2000 rise 2 fall 5", "accepted"],
    ["ssl verify required ca-file @system-ca sni str(example.com)", "accepted"],
    ["init-addr last,libc,none", "accepted"],
    ["ssl crt /var/lib/haproxy/default.pem", '"crt" names a file'],
    ["ssl verify required ca-file /etc/ssl/certs/ca-certificates.crt", "ca-file @system-ca"],
    ["check addr 127.0.0.1 port 8404", '"addr" sends connections or checks'],
    ["socks4 127.0.0.1:1080", '"socks4" sends connections'],
    ["source 0.0.0.0 usesrc clientip", '"source" sends connections'],
    ["init-addr 127.0.0.1", "may only name last, libc and none"],
    ['cookie "$HOME"', "reads haproxy's environment"],
  ])("%s: %s", (options, expected) => {
    const message = refusal(() => untrusted().serverOptions([options], "servers[0].options"));
    expect(message).toContain(expected);
    if (expected !== "accepted") expect(message).toContain("servers[0].options[0]:");
  });
});

describe("backend addresses from a relation", () => {
  it.each([
    ["127.0.0.1", "a loopback address"],
    ["127.8.9.10", "a loopback address"],
    ["::1", "a loopback address"],
    ["[::1]", "a loopback address"],
    ["::ffff:127.0.0.1", "a loopback address"],
    ["0.0.0.0", "an unspecified address"],
    ["::", "an unspecified address"],
    ["169.254.169.254", "a link-local address"],
    ["fe80::1%eth0", "a link-local address"],
    ["224.0.0.18", "a multicast address"],
    ["ff02::1", "a multicast address"],
    ["localhost", "names this machine"],
    ["LOCALHOST.", "names this machine"],
    ["db.localhost", "names this machine"],
    ["127.1", "is not a dotted IPv4 address"],
    ["2130706433", "is not a dotted IPv4 address"],
    ["0x7f.1", "is not a dotted IPv4 address"],
  ])("refuses %s", (address, reason) => {
    expect(refusal(() => untrusted().backendAddress(address, "web/0.host"))).toContain(
      `web/0.host: "${address}" ${/^an? /.test(reason) ? `is ${reason}` : reason}`,
    );
  });

  it.each(["10.0.0.20", "192.0.2.7", "2001:db8::5", "[2001:db8::5]", "web.internal"])(
    "accepts %s",
    (address) => {
      expect(untrusted().backendAddress(address, "host")).toBe(address);
    },
  );

  it("takes names that are also Object's own properties for names", () => {
    const policy = untrusted();
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(policy.backendAddress(name, "host")).toBe(name);
    }
    expect(policy.unresolvedNames).toEqual([
      "constructor",
      "toString",
      "__proto__",
      "hasOwnProperty",
    ]);
  });

  it("accepts the unit's own address: an application on the same machine", () => {
    expect(untrusted().backendAddress("10.0.0.1", "host")).toBe("10.0.0.1");
  });

  it("notes names it cannot judge yet, and judges them by what they resolved to", () => {
    const first = untrusted();
    first.backendAddress("web.internal", "host");
    first.backendAddress("metadata.internal", "host");
    expect(first.unresolvedNames).toEqual(["web.internal", "metadata.internal"]);

    const second = new RelationPolicy({
      trusted: false,
      ownAddresses: ["10.0.0.1"],
      resolvedHosts: {
        "web.internal": ["10.0.0.20"],
        "here.internal": ["10.0.0.1"],
        "metadata.internal": ["10.0.0.21", "169.254.169.254"],
        "gone.internal": [],
      },
    });
    expect(second.backendAddress("web.internal", "host")).toBe("web.internal");
    expect(second.backendAddress("here.internal", "host")).toBe("here.internal");
    expect(second.backendAddress("gone.internal", "host")).toBe("gone.internal");
    expect(refusal(() => second.backendAddress("metadata.internal", "host"))).toBe(
      'host: "metadata.internal" resolves to 169.254.169.254, a link-local address',
    );
    expect(second.unresolvedNames).toEqual([]);
  });

  it("classifies only the refused ranges", () => {
    expect(refusedAddressKind("126.255.255.255")).toBeUndefined();
    expect(refusedAddressKind("128.0.0.1")).toBeUndefined();
    expect(refusedAddressKind("169.253.255.255")).toBeUndefined();
    expect(refusedAddressKind("223.255.255.255")).toBeUndefined();
    expect(refusedAddressKind("fec0::1")).toBeUndefined();
    expect(refusedAddressKind("255.255.255.255")).toBe("broadcast");
    expect(refusedAddressKind("::ffff:7f00:1")).toBe("loopback");
    expect(refusedAddressKind("0:0:0:0:0:0:0:1")).toBe("loopback");
    expect(refusedAddressKind("::0.0.0.1")).toBe("loopback");
    expect(refusedAddressKind("febf::1")).toBe("link-local");
    expect(refusedAddressKind("2001:db8::127.0.0.1")).toBeUndefined();
    expect(refusedAddressKind("::2")).toBeUndefined();
    expect(refusedAddressKind("1::")).toBeUndefined();
  });
});

describe("haproxy's words", () => {
  it.each([
    ['a "b c" d', ["a", "b c", "d"]],
    ["a 'b\\ c' d", ["a", "b\\ c", "d"]],
    ["a b\\ c", ["a", "b c"]],
    ["a \\x41b", ["a", "Ab"]],
    ["a b # c d", ["a", "b"]],
    ['a "#b"', ["a", "#b"]],
    ["a ''", ["a", ""]],
  ])("%s", (line, words) => {
    expect(haproxyWords(line).words).toEqual(words);
  });
});
