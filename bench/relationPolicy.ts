// What the relation data policy costs a plan: planning 10, 100 and 1,000
// relation-driven units (each a service with five options and a server with
// options, at an IP address) with the policy and with trust_relation_data,
// median of 15 plans each after as many to warm up. Prints a table; `npm run bench:policy`.
import { performance } from "node:perf_hooks";

import type { HookInputs, RemoteUnit } from "../src/juju/hookInputs.js";
import { planFromInputs } from "../tests/helpers/planFromInputs.js";

const SIZES = [10, 100, 1000];
const ROUNDS = 15;
const paths = { haproxyLib: "/var/lib/haproxy", haproxyRun: "/run/haproxy-charm" };

function units(count: number): RemoteUnit[] {
  return Array.from({ length: count }, (_, i) => {
    const address = `10.${Math.floor(i / 250)}.${i % 250}.1`;
    return {
      relationId: "reverseproxy:1",
      unit: `web/${i}`,
      settings: {
        "private-address": address,
        services:
          `- {service_name: web, service_port: 80, service_options: [mode http, balance leastconn, ` +
          `'option httpchk GET /health HTTP/1.0', 'http-request set-header X-Forwarded-Proto https if { ssl_fc }', ` +
          `'timeout server 30s'], servers: [[web-${i}, ${address}, 8000, maxconn 100 check inter 2000]]}`,
      },
    };
  });
}

function medianMs(inputs: HookInputs): number {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    planFromInputs(inputs, paths);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

console.log("| units | with the policy | trusted (no policy) | ratio |");
console.log("| ----: | --------------: | ------------------: | ----: |");
for (const count of SIZES) {
  const inputs = (trusted: boolean): HookInputs => ({
    unitName: "haproxy/0",
    privateAddress: "10.200.0.1",
    publicAddress: "10.200.0.1",
    config: { services: "", trust_relation_data: trusted },
    reverseproxy: units(count),
    peers: [],
  });
  // Both once first, so that neither pays for the other's compilation.
  medianMs(inputs(false));
  medianMs(inputs(true));
  const policed = medianMs(inputs(false));
  const trusted = medianMs(inputs(true));
  console.log(
    `| ${count} | ${policed.toFixed(1)} ms | ${trusted.toFixed(1)} ms | ${(policed / trusted).toFixed(2)} |`,
  );
}
