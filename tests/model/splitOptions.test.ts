import { describe, expect, it } from "vitest";

import { splitOptions } from "../../src/model/splitOptions.js";

describe("splitOptions", () => {
  it.each([
    {
      name: "the README's relation-driven example",
      given: [
        "mode http",
        "acl foo path_beg -i /foo",
        "use_backend foo if foo",
        "balance leastconn",
      ],
      frontend: ["mode http", "acl foo path_beg -i /foo", "use_backend foo if foo"],
      backend: ["mode http", "balance leastconn"],
    },
    {
      name: "log formats go to both sides, ahead of the rest",
      given: ["timeout client 30s", "option httplog clf", "timeout server 30s", "mode tcp"],
      frontend: ["option httplog clf", "mode tcp", "timeout client 30s"],
      backend: ["option httplog clf", "mode tcp", "timeout server 30s"],
    },
    {
      name: "frontend-only keywords",
      given: [
        "maxconn 500",
        "http-request set-header X-A b",
        "redirect scheme https",
        "option dontlognull",
        "capture request header Host len 64",
      ],
      frontend: [
        "maxconn 500",
        "http-request set-header X-A b",
        "redirect scheme https",
        "option dontlognull",
        "capture request header Host len 64",
      ],
      backend: [],
    },
    {
      name: "backend keywords and duplicates",
      given: [
        "balance leastconn",
        "cookie SRVNAME insert",
        "option httpchk GET /",
        "balance leastconn",
      ],
      frontend: [],
      backend: ["balance leastconn", "cookie SRVNAME insert", "option httpchk GET /"],
    },
  ])("$name", ({ given, frontend, backend }) => {
    expect(splitOptions(given)).toEqual({ frontend, backend });
  });
});
