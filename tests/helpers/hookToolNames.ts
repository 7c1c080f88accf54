// The Juju hook tools the charm runs, for tests that stand in for them.
export const HOOK_TOOL_NAMES = [
  "config-get",
  "relation-ids",
  "relation-list",
  "relation-get",
  "relation-set",
  "unit-get",
  "network-get",
  "open-port",
  "close-port",
  "opened-ports",
  "status-set",
  "juju-log",
  "is-leader",
];
