import { describe, expect, it } from "vitest";

import { ServiceConflictError } from "../../src/lib/errors.js";
import type { ParsedService } from "../../src/model/parseServices.js";
import {
  assignHostPorts,
  completeService,
  settlePortClaims,
} from "../../src/model/placeServices.js";

const server = { name: "s", address: "10.0.0.1", port: "80", options: [] };
const service = (fields: ParsedService) => completeService(fields);

describe("assignHostPorts", () => {
  it("gives services without host/port 0.0.0.0 and ports 2 apart above the highest used, by name", () => {
    const placed = assignHostPorts(
      [
        service({ name: "zeta" }),
        service({ name: "web", port: 8080 }),
        service({ name: "alpha", host: "10.0.0.2" }),
      ],
      10000,
    );
    expect(placed.map((s) => [s.name, s.host, s.port])).toEqual([
      ["zeta", "0.0.0.0", 8084],
      ["web", "0.0.0.0", 8080],
      ["alpha", "10.0.0.2", 8082],
    ]);
  });

  it("counts from the monitoring port when no service has a port", () => {
    expect(assignHostPorts([service({ name: "a" })], 10000)[0]?.port).toBe(10002);
  });
});

describe("settlePortClaims", () => {
  const placed = (name: string, port: number, withServers: boolean) => ({
    ...service({ name, port }),
    host: "0.0.0.0",
    port,
    servers: withServers ? [server] : [],
  });

  it("lets a service with servers take the port of an empty one (the default haproxy_service)", () => {
    const result = settlePortClaims(
      [placed("haproxy_service", 80, false), placed("my_web_app", 80, true)],
      new Map(),
    );
    expect(result.services.map((s) => s.name)).toEqual(["my_web_app"]);
    expect(result.displaced).toEqual(["haproxy_service"]);
  });

  it("keeps an empty service when nobody else wants its port", () => {
    expect(
      settlePortClaims([placed("haproxy_service", 80, false)], new Map()).services,
    ).toHaveLength(1);
  });

  it("refuses two services with servers on one port, naming both", () => {
    expect(() =>
      settlePortClaims([placed("a", 80, true), placed("b", 80, true)], new Map()),
    ).toThrow(new ServiceConflictError(80, ["a", "b"]));
  });

  it("refuses a service on the monitoring port", () => {
    expect(() =>
      settlePortClaims([placed("a", 10000, true)], new Map([[10000, "haproxy_monitoring"]])),
    ).toThrow(/haproxy_monitoring and a both serve port 10000/);
  });

  it("returns services sorted by name so output is deterministic", () => {
    const result = settlePortClaims([placed("b", 81, true), placed("a", 82, true)], new Map());
    expect(result.services.map((s) => s.name)).toEqual(["a", "b"]);
  });
});
