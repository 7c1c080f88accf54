// The model's hook tools answer like Juju's jujuc: defaults taken from the
// hook context, --format output, and loud errors for anything unknown. Run
// in memory here; localModel.test.ts drives them from a real charm's shell.

import { describe, expect, it } from "vitest";
import { effectiveConfig } from "./configValues.js";
import type { ModelView } from "./hookContext.js";
import { HookContext } from "./hookContext.js";
import type { Machine } from "./machine.js";
import type { Application, HookEvent, Relation, Unit } from "./state.js";
import { hookTools } from "./tools/registry.js";
import { ToolError } from "./tools/toolError.js";

const reverseproxy = {
  name: "reverseproxy",
  interface: "http",
  role: "requires",
  scope: "global",
} as const;
const website = { name: "website", interface: "http", role: "provides", scope: "global" } as const;

function world(leader = true) {
  const app: Application = {
    name: "haproxy",
    meta: {
      name: "haproxy",
      endpoints: [reverseproxy, website],
      extraBindings: ["public"],
      options: new Map([
        ["port", { type: "int", default: 80 }],
        ["debug", { type: "boolean", default: false }],
        ["services", { type: "string", default: "" }],
        ["ssl_key", { type: "string" }],
      ]),
      actions: new Map(),
    },
    units: [],
    nextUnitNumber: 1,
    config: new Map(),
    leaderSettings: new Map(),
    version: "",
  };
  // Hook tools only ask a machine for its address.
  const machine = { id: 0, address: "10.0.0.5" } as unknown as Machine;
  const unit: Unit = {
    name: "haproxy/0",
    app,
    machine,
    leader,
    workload: { status: "maintenance", message: "" },
    agent: "executing",
    openedPorts: new Set(),
    knownRelations: new Set([3]),
    members: new Map([[3, new Set(["my-web-app/1", "my-web-app/0"])]]),
    log: [],
    hookRuns: [],
    dying: false,
  };
  app.units.push(unit);
  const relation: Relation = {
    id: 3,
    sides: [
      { app: "my-web-app", endpoint: { ...website } },
      { app: "haproxy", endpoint: reverseproxy },
    ],
    unitSettings: new Map([
      [
        "my-web-app/0",
        new Map([
          ["port", "80"],
          ["hostname", "10.0.0.7"],
          ["private-address", "10.0.0.7"],
        ]),
      ],
      ["my-web-app/1", new Map([["port", "8080"]])],
    ]),
    appSettings: new Map(),
    dying: false,
  };
  const model: ModelView = {
    name: "test",
    uuid: "uuid",
    subnet: "10.0.0.0/24",
    application: (name) => (name === "haproxy" ? app : undefined),
    unit: (name) => (name === unit.name ? unit : undefined),
    relation: (id) => (id === 3 ? relation : undefined),
    effectiveConfig: (target) => effectiveConfig(target.meta.options, target.config),
  };
  return { model, unit, relation };
}

const inRelationHook: Omit<HookEvent, "unit"> = {
  seq: 1,
  kind: "relation-changed",
  relationId: 3,
  remoteUnit: "my-web-app/0",
  remoteApp: "my-web-app",
};
const inConfigChanged: Omit<HookEvent, "unit"> = { seq: 1, kind: "config-changed" };

function contextFor(event = inRelationHook, leader = true): HookContext {
  const { model, unit } = world(leader);
  return new HookContext("ctx", model, unit, { ...event, unit: unit.name });
}

/** Runs a tool; returns stdout, or `ERROR(<code>) <message>` when it fails. */
function run(context: HookContext, command: string, input?: string): string {
  const [name = "", ...args] = command.split(" ");
  const tool = hookTools.get(name);
  if (tool === undefined) throw new Error(`no tool ${name}`);
  try {
    return tool(context, args, input).stdout;
  } catch (error) {
    if (error instanceof ToolError) return `ERROR(${error.exitCode}) ${error.message}`;
    throw error;
  }
}

describe("answers", () => {
  const cases: [string, { event?: Omit<HookEvent, "unit">; want: string }][] = [
    ["relation-ids --format=json reverseproxy", { want: '["reverseproxy:3"]\n' }],
    ["relation-ids --format=json", { want: '["reverseproxy:3"]\n' }],
    ["relation-ids --format=json website", { want: "[]\n" }],
    ["relation-list -r 3 --format=json", { want: '["my-web-app/0","my-web-app/1"]\n' }],
    ["relation-list --format=json --app", { want: '"my-web-app"\n' }],
    [
      "relation-get -r reverseproxy:3 --format=json - my-web-app/0",
      { want: '{"hostname":"10.0.0.7","port":"80","private-address":"10.0.0.7"}\n' },
    ],
    ["relation-get --format=json port", { want: '"80"\n' }],
    ["relation-get port my-web-app/1", { want: "8080\n" }],
    ["relation-get --format=json nothing-here", { want: "null\n" }],
    ["config-get --format=json", { want: '{"port":80,"debug":false,"services":""}\n' }],
    [
      "config-get --format=json --all",
      { want: '{"port":80,"debug":false,"services":"","ssl_key":null}\n' },
    ],
    ["config-get port --format=json", { want: "80\n" }],
    ["config-get debug", { want: "False\n" }],
    ["unit-get private-address", { want: "10.0.0.5\n" }],
    ["unit-get --format=json public-address", { want: '"10.0.0.5"\n' }],
    ["network-get public --ingress-address --format=json", { want: '"10.0.0.5"\n' }],
    ["is-leader --format=json", { want: "true\n" }],
    ["status-get --format=json", { want: '{"status":"maintenance"}\n' }],
    ["status-get", { want: "maintenance\n" }],
    [
      "status-get --include-data --format=json",
      { want: '{"message":"","status":"maintenance","status-data":{}}\n' },
    ],
    ["opened-ports --format=json", { want: "[]\n" }],
  ];
  it.each(cases)("%s", (command, { event, want }) => {
    expect(run(contextFor(event), command)).toBe(want);
  });

  it("network-get describes the unit's address on the model's network", () => {
    const answer = JSON.parse(run(contextFor(), "network-get reverseproxy --format=json"));
    expect(answer).toEqual({
      "bind-addresses": [
        expect.objectContaining({
          "interface-name": "eth0",
          addresses: [expect.objectContaining({ value: "10.0.0.5", cidr: "10.0.0.0/24" })],
        }),
      ],
      "egress-subnets": ["10.0.0.5/32"],
      "ingress-addresses": ["10.0.0.5"],
    });
  });
});

describe("refuses", () => {
  const cases: [string, { event?: Omit<HookEvent, "unit">; leader?: boolean; want: RegExp }][] = [
    ["relation-get --bogus", { want: /^ERROR\(2\) option provided but not defined: --bogus$/ }],
    ["status-get --no-such-flag", { want: /^ERROR\(2\) option provided but not defined/ }],
    ["relation-ids", { event: inConfigChanged, want: /^ERROR\(2\) no endpoint name specified/ }],
    ["relation-list", { event: inConfigChanged, want: /^ERROR\(1\) no relation id specified/ }],
    ["relation-list -r website:3", { want: /^ERROR\(2\) invalid relation id "website:3"/ }],
    ["relation-list -r 9", { want: /relation not found/ }],
    [
      "relation-get - my-web-app",
      { want: /expected unit name, got application name "my-web-app"/ },
    ],
    ["relation-get - other/4", { want: /^ERROR\(1\) cannot read settings for unit "other\/4"/ }],
    ["relation-get", { event: inConfigChanged, want: /no relation id specified/ }],
    ["relation-set novalue", { want: /expected "key=value", got "novalue"/ }],
    ["relation-set a=1 a=2", { want: /key "a" specified more than once/ }],
    ["relation-set --app a=1", { leader: false, want: /cannot write relation settings/ }],
    ["config-get --format=xml", { want: /unknown format "xml"/ }],
    ["unit-get address", { want: /unknown setting "address"/ }],
    ["network-get nowhere", { want: /no network config found for binding "nowhere"/ }],
    ["open-port 70000/tcp", { want: /invalid port "70000\/tcp"/ }],
    ["status-set error oops", { want: /invalid status "error"/ }],
    ["status-set --application active", { leader: false, want: /not the leader/ }],
    ["juju-log", { want: /no message specified/ }],
    ["action-get", { want: /not running an action/ }],
    ["leader-set a=b", { leader: false, want: /not the leader/ }],
  ];
  it.each(cases)("%s", (command, { event, leader, want }) => {
    expect(run(contextFor(event, leader), command)).toMatch(want);
  });
});

describe("changes within a hook", () => {
  it("relation-set --file takes a YAML map (multi-line values, scalars as strings); arguments win", () => {
    const context = contextFor();
    const file =
      "services: |\n  - service_name: app\n    service_port: 80\nport: 80\nsecure: true\ngone:\n";
    expect(run(context, "relation-set -r 3 --file - port=81", file)).toBe("");
    expect(JSON.parse(run(context, "relation-get --format=json - haproxy/0"))).toEqual({
      services: "- service_name: app\n  service_port: 80\n",
      port: "81",
      secure: "true",
    });
    expect(run(context, "relation-set -r 3 --file -", "a: [1, 2]\n")).toMatch(/non-scalar/);
  });

  it("an empty value deletes a key", () => {
    const context = contextFor();
    run(context, "relation-set a=1 b=2");
    run(context, "relation-set a=");
    expect(run(context, "relation-get --format=json - haproxy/0")).toBe('{"b":"2"}\n');
  });

  it("nothing reaches the model until the hook is committed", () => {
    const { model, unit, relation } = world();
    const context = new HookContext("ctx", model, unit, { ...inRelationHook, unit: unit.name });
    run(context, "relation-set x=1");
    run(context, "status-set active ready");
    run(context, "open-port 443");
    expect(relation.unitSettings.get("haproxy/0")).toBeUndefined();
    expect(unit.workload.status).toBe("maintenance");
    expect(unit.openedPorts.size).toBe(0);
    const changes = context.changes();
    expect(changes.unitSettings.get(3)).toEqual(new Map([["x", "1"]]));
    expect(changes.status).toEqual({ status: "active", message: "ready" });
    expect(changes.openedPorts).toEqual(new Set(["443/tcp"]));
    expect(run(context, "opened-ports")).toBe("443/tcp\n");
  });

  it("juju-log records the message with its level and relation", () => {
    const context = contextFor();
    run(context, "juju-log -l WARNING -- servers changed");
    expect(context.unit.log).toEqual([
      { level: "WARNING", message: "reverseproxy:3: servers changed" },
    ]);
  });
});
