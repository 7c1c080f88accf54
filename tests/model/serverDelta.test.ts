// Which configuration changes the running haproxy can take without a
// reload: only servers, in a backend whose balance algorithm lets servers
// come and go, and only where a restart with the new file would give the
// same servers (same ids where the algorithm depends on them).
import { describe, expect, it } from "vitest";

import { serverStateFor } from "../../src/apply/serverStateFile.js";
import { planServerDelta } from "../../src/model/serverDelta.js";

function config(backend: readonly string[], frontend = "    bind 0.0.0.0:80"): string {
  return [
    "global",
    "    maxconn 4096",
    "",
    "defaults",
    "    mode http",
    "",
    "frontend web",
    frontend,
    "    default_backend app",
    "",
    "backend app",
    ...backend.map((line) => `    ${line}`),
    "",
  ].join("\n");
}

const a = "server a 10.0.0.1:80 maxconn 100 check";
const b = "server b 10.0.0.2:80 maxconn 100 check";
const c = "server c 10.0.0.3:80 maxconn 100 check";

describe("planServerDelta", () => {
  it("adds, removes and readdresses servers of a leastconn backend at run time", () => {
    const delta = planServerDelta(
      config(["balance leastconn", a, b]),
      config(["balance leastconn", "server a 10.0.0.9:81 maxconn 100 check", c]),
    );
    expect(delta).toMatchObject({
      kind: "runtime",
      backends: [
        {
          backend: "app",
          add: [{ name: "c", address: "10.0.0.3", port: 80 }],
          remove: [{ name: "b" }],
          update: [{ name: "a", address: "10.0.0.9", port: 81 }],
        },
      ],
    });
  });

  it("changes weight and maintenance in place, any other option reloads", () => {
    expect(
      planServerDelta(config([a, b]), config([`${a} weight 5`, `${b} disabled`])),
    ).toMatchObject({
      kind: "runtime",
      backends: [
        {
          update: [
            { name: "a", weight: 5 },
            { name: "b", disabled: true },
          ],
        },
      ],
    });
    expect(planServerDelta(config([a]), config([`${a} inter 500`]))).toMatchObject({
      kind: "reload",
      reason: expect.stringContaining("options other than weight"),
    });
  });

  it("reloads for anything but servers", () => {
    expect(planServerDelta(config([a]), config([a, c], "    bind 0.0.0.0:8080"))).toMatchObject({
      kind: "reload",
      reason: "more than servers changed",
    });
  });

  it.each([
    ["static-rr", ["balance static-rr"]],
    ["a map-based hash", ["balance source"]],
    ["default-server, which added servers would not inherit", ["default-server inter 500"]],
  ])("reloads a backend with %s", (_, lines) => {
    expect(planServerDelta(config([...lines, a]), config([...lines, a, c])).kind).toBe("reload");
  });

  it("grows a consistent hash only at its end, where a restart numbers servers the same", () => {
    const hashed = ["balance source", "hash-type consistent"];
    expect(planServerDelta(config([...hashed, a, b]), config([...hashed, a, b, c])).kind).toBe(
      "runtime",
    );
    expect(planServerDelta(config([...hashed, a, c]), config([...hashed, a, b, c])).kind).toBe(
      "reload",
    );
    expect(planServerDelta(config([...hashed, a, b, c]), config([...hashed, b, c])).kind).toBe(
      "reload",
    );
    expect(planServerDelta(config([...hashed, a, b, c]), config([...hashed, a, b])).kind).toBe(
      "runtime",
    );
  });

  it("with backup servers, adds at run time only after the others, where haproxy puts them", () => {
    const backupA = `${a} backup`;
    const backupB = `${b} backup`;
    expect(planServerDelta(config([backupA]), config([backupA, backupB])).kind).toBe("runtime");
    expect(planServerDelta(config([backupB]), config([backupA, backupB]))).toMatchObject({
      kind: "reload",
      reason: "backend app: servers added before others in a backend with backup servers",
    });
  });

  it("reloads a backend with server-template before changing anything", () => {
    const template = "server-template spare 1-3 10.0.1.1:80 check";
    expect(planServerDelta(config([template, a]), config([template, a, b]))).toMatchObject({
      kind: "reload",
      reason: expect.stringContaining("server-template"),
    });
  });

  it("reloads for a server given by name (haproxy resolves it at start only)", () => {
    const named = "server d web.example.com:80 check";
    expect(planServerDelta(config([a]), config([a, named])).kind).toBe("reload");
  });

  it("takes IPv6 servers, without their brackets", () => {
    const delta = planServerDelta(config([a]), config([a, "server v6 [fd00::5]:8080 check"]));
    expect(delta).toMatchObject({
      kind: "runtime",
      backends: [{ add: [{ name: "v6", address: "fd00::5", port: 8080 }] }],
    });
  });

  it.each([";", "#", "\\", "'", '"'])(
    "reloads a change whose commands would carry %s, which the admin socket reads as syntax",
    (character) => {
      const odd = `server d 10.0.0.4:80 check agent-send x${character}y`;
      expect(planServerDelta(config([a]), config([a, odd]))).toMatchObject({
        kind: "reload",
        reason: `backend app: x${character}y holds ${character}, which the admin socket reads as syntax`,
      });
      expect(planServerDelta(config([a, odd]), config([a])).kind).toBe("runtime");
    },
  );

  it("reloads when a server line is not in the charm's form", () => {
    expect(planServerDelta(config([a]), config([a, "server odd 10.0.0.4"])).kind).toBe("reload");
  });
});

describe("serverStateFor", () => {
  const header =
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port";
  const row = (name: string, address: string, port: number) =>
    `3 app 1 ${name} ${address} 0 0 1 1 5 8 2 0 6 0 0 0 - ${port} - 0 0 - - 0`;

  it("keeps only servers the new file has at the same address and port, none given by name", () => {
    const state = [
      "1",
      header,
      row("a", "10.0.0.1", 80),
      row("b", "10.0.0.2", 80),
      row("c", "10.0.0.3", 80),
      row("d", "10.0.0.4", 80),
      "",
    ].join("\n");
    const kept = serverStateFor(
      state,
      config([
        a,
        "server b 10.0.0.2:8080 check",
        "server c 10.0.0.7:80 check",
        "server d web.example.com:80 check",
      ]),
    );
    expect(kept).toBe(["1", header, row("a", "10.0.0.1", 80), ""].join("\n"));
  });

  it("leaves out a DOWN server whose check is gone, which nothing would bring back up", () => {
    const running = (name: string, address: string) =>
      row(name, address, 80).replace(`${address} 0 0`, `${address} 2 0`);
    // Put in maintenance at run time (admin state 1): kept, to stay there.
    const maintained = row("d", "10.0.0.4", 80).replace("10.0.0.4 0 0", "10.0.0.4 0 1");
    const state = [
      "1",
      header,
      row("a", "10.0.0.1", 80),
      row("b", "10.0.0.2", 80),
      running("c", "10.0.0.3"),
      maintained,
      "",
    ].join("\n");
    const unchecked = (name: string, address: string) => `server ${name} ${address}:80 maxconn 100`;
    const kept = serverStateFor(
      state,
      config([
        a,
        unchecked("b", "10.0.0.2"),
        unchecked("c", "10.0.0.3"),
        unchecked("d", "10.0.0.4"),
      ]),
    );
    expect(kept).toBe(
      ["1", header, row("a", "10.0.0.1", 80), running("c", "10.0.0.3"), maintained, ""].join("\n"),
    );
  });
});
