// keepalived.conf and its check script for a VipPlan (pure).
//
// Timing (bench/vipFailover.ts measures it): adverts every second; the check
// runs every second and fails after 2 misses, at which point this unit sends a
// priority-0 advert and the next unit takes the address at once instead of
// waiting 3 adverts. `nopreempt` with every unit in BACKUP: a unit that comes
// back does not take the address back, so traffic moves once per failure.
import type { PlacedService } from "../model/types.js";
import type { VipPlan } from "./vipPlan.js";

export const VRRP_INSTANCE = "haproxy_vip";

/** How long a starting keepalived waits before it may take the address. */
export const STARTUP_DELAY_SECONDS = 30;

export interface Listener {
  readonly host: string;
  readonly port: number;
}

/**
 * `firstStart`: keepalived has not run on this unit yet (since `vip` was set),
 * so it waits before it may take the address. Later starts (a reboot, a
 * keepalived that died) do not wait: the peers already know this unit.
 */
export function renderKeepalivedConfig(
  plan: VipPlan,
  unitName: string,
  checkScript: string,
  firstStart: boolean,
): string {
  const lines = [
    "# Written by the haproxy charm from its vip option; changes are overwritten.",
    "global_defs {",
    `  router_id ${unitName.replace("/", "-")}`,
    // The check script is root's own file in a root-only directory.
    "  script_user root",
    "  enable_script_security",
    // A burst of gratuitous ARPs when the address arrives, again a second later
    // (a switch or neighbour that missed the first), and every minute after.
    "  vrrp_garp_master_delay 1",
    "  vrrp_garp_master_repeat 3",
    "  vrrp_garp_master_refresh 60",
    // A unit that just joined hears no adverts until the holder lists it as a
    // peer, one of the holder's hooks later; claiming the address meanwhile
    // would put it on two units. Failover is not delayed, only a first start
    // (a reload keeps a delay that is running, so dropping the line is safe).
    ...(firstStart ? [`  vrrp_startup_delay ${STARTUP_DELAY_SECONDS}`] : []),
    "}",
    "",
    "vrrp_script haproxy_check {",
    `  script "${checkScript}"`,
    "  interval 1",
    "  timeout 2",
    "  fall 2",
    "  rise 2",
    "}",
    "",
    `vrrp_instance ${VRRP_INSTANCE} {`,
    "  state BACKUP",
    "  nopreempt",
    `  interface ${plan.device}`,
    `  virtual_router_id ${plan.routerId}`,
    `  priority ${plan.priority}`,
    "  advert_int 1",
    // Unicast: clouds rarely pass multicast. No authentication, but adverts
    // from anything other than the peers are dropped.
    `  unicast_src_ip ${plan.sourceAddress}`,
    "  check_unicast_src",
    "  unicast_peer {",
    ...plan.peerAddresses.map((address) => `    ${address}`),
    "  }",
    "  virtual_ipaddress {",
    ...plan.addresses.map((address) => `    ${address} dev ${plan.device}`),
    "  }",
    "  track_script {",
    "    haproxy_check",
    "  }",
    "}",
    "",
  ];
  return lines.join("\n");
}

const WILDCARDS = new Set(["0.0.0.0", "*", "", "::"]);

/**
 * The listeners the check can reach from the unit itself: those on every
 * address (probed on loopback) or on the unit's own address. One bound to a
 * VIP only answers on the holder, so it is not probed.
 */
export function probedListeners(
  services: readonly PlacedService[],
  unitAddress: string,
): Listener[] {
  const seen = new Set<string>();
  const listeners: Listener[] = [];
  for (const service of services) {
    const host = WILDCARDS.has(service.host)
      ? service.host === "::"
        ? "::1"
        : "127.0.0.1"
      : service.host === unitAddress
        ? unitAddress
        : undefined;
    const key = `${host}:${service.port}`;
    if (host === undefined || seen.has(key)) continue;
    seen.add(key);
    listeners.push({ host, port: service.port });
  }
  return listeners;
}

/** Exits non-zero when haproxy is not running or one of its listeners does not accept. */
export function renderCheckScript(
  listeners: readonly Listener[],
  haproxyPidFile: string,
  ready = true,
): string {
  return [
    "#!/bin/bash",
    "# Written by the haproxy charm: keepalived's check. While it fails this unit",
    "# gives up the VIP, so the address leaves a unit whose haproxy is down.",
    ...(ready ? [] : ["exit 1 # not yet a peer of every unit it knows (vipReadiness.ts)"]),
    `kill -0 "$(cat ${haproxyPidFile} 2>/dev/null)" 2>/dev/null || exit 1`,
    ...listeners.map(
      ({ host, port }) =>
        `timeout 1 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null || exit 1`,
    ),
    "exit 0",
    "",
  ].join("\n");
}
