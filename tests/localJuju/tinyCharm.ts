// A throwaway charm for testing the local model itself: one dispatch shell
// script that records every event and drives hook tools, systemctl and a
// real haproxy the way the real charm does. Packed like `make charm` packs.

import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const metadata = `name: tiny
summary: A charm that tests the local model.
description: Records events, echoes relation data and serves its unit name through haproxy.
requires:
  backend:
    interface: http
peers:
  peer:
    interface: tiny-peer
`;

const config = `options:
  greeting:
    type: string
    default: hello
  port:
    type: int
    default: 8080
  verbose:
    type: boolean
    default: false
  broken:
    type: boolean
    default: false
    description: Call a hook tool with a flag Juju does not have.
  fail-after-relation-set:
    type: boolean
    default: false
`;

const actions = `echo:
  params:
    text:
      type: string
      default: ping
`;

const manifest = `bases:
- architectures: [amd64]
  channel: '24.04'
  name: ubuntu
`;

// Everything the charm writes goes to production-looking paths; the model
// gives each unit its own copy of them.
const dispatch = `#!/bin/sh
set -eu
hook=\${JUJU_DISPATCH_PATH#*/}
state=/var/lib/tiny
mkdir -p "$state"
echo "$hook \${JUJU_REMOTE_UNIT:-} \${JUJU_DEPARTING_UNIT:-}" >> "$state/events"
env | grep -E '^(JUJU_|CHARM_DIR=)' | sort > "$state/env-$hook"
juju-log -l INFO -- "running $hook"
[ -e "$state/fail" ] && { echo "told to fail" >&2; exit 1; }

write_config() {
  port=$(config-get port --format=json)
  greeting=$(config-get greeting)
  cat > /etc/haproxy/haproxy.cfg.new <<EOF
global
  stats socket /run/haproxy/admin.sock mode 660 level admin
defaults
  mode http
  timeout connect 5s
  timeout client 5s
  timeout server 5s
frontend web
  bind :$port
  http-request return status 200 content-type text/plain string "$JUJU_UNIT_NAME $greeting"
EOF
  haproxy -c -q -f /etc/haproxy/haproxy.cfg.new
  mv /etc/haproxy/haproxy.cfg.new /etc/haproxy/haproxy.cfg
}

case $hook in
  install)
    apt-get update -q
    apt-get install -y -q haproxy
    echo "haproxy hold" | dpkg --set-selections
    printf 'net.core.somaxconn = 1234\nvm.swappiness = 7\n' > /etc/sysctl.d/60-tiny.conf
    sysctl -p /etc/sysctl.d/60-tiny.conf
    status-set maintenance "installed"
    ;;
  config-changed)
    config-get --format=json > "$state/config.json"
    if [ "$(config-get broken --format=json)" = "true" ]; then
      status-get --no-such-flag
    fi
    if [ "$(config-get fail-after-relation-set --format=json)" = "true" ]; then
      for id in $(relation-ids backend --format=json | tr -d '[]",' ); do
        relation-set -r "$id" discarded=yes
      done
      status-set blocked "about to fail"
      exit 1
    fi
    write_config
    if systemctl is-active --quiet haproxy; then systemctl reload haproxy; fi
    ;;
  start)
    systemctl start haproxy
    open-port "$(config-get port --format=json)/tcp"
    status-set active "serving"
    ;;
  backend-relation-changed)
    relation-get --format=json - "$JUJU_REMOTE_UNIT" > "$state/remote-\${JUJU_REMOTE_UNIT%/*}-\${JUJU_REMOTE_UNIT#*/}.json"
    relation-list --format=json > "$state/members"
    printf 'services: |\\n  - name: one\\n    port: 80\\nunit: %s\\n' "$JUJU_UNIT_NAME" | relation-set --file -
    relation-set "greeting=$(config-get greeting)"
    ;;
  backend-relation-departed)
    relation-list --format=json > "$state/members"
    ;;
  stop)
    systemctl stop haproxy
    ;;
  echo)
    action-set "echoed=$(action-get text)" "unit=$JUJU_UNIT_NAME"
    ;;
esac
`;

/** Packs the tiny charm into a new temporary directory; returns the `.charm` path. */
export function packTinyCharm(): { charm: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "tiny-charm-"));
  const source = join(dir, "src");
  mkdirSync(source);
  writeFileSync(join(source, "metadata.yaml"), metadata);
  writeFileSync(join(source, "config.yaml"), config);
  writeFileSync(join(source, "actions.yaml"), actions);
  writeFileSync(join(source, "manifest.yaml"), manifest);
  writeFileSync(join(source, "dispatch"), dispatch);
  chmodSync(join(source, "dispatch"), 0o755);
  const charm = join(dir, "tiny.charm");
  execFileSync("zip", ["-X", "-r", "-q", charm, "."], { cwd: source });
  return { charm, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
