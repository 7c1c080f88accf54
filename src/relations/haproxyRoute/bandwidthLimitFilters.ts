// haproxy's bandwidth limitation filters (bwlim, haproxy 2.7 and later) for a
// route's bandwidth_limit, as haproxy-route and haproxy-route-tcp ask for it.
import type { BandwidthLimit } from "./haproxyRouteRequest.js";

/**
 * The backend lines limiting uploads and downloads to the given bytes per
 * second. An HTTP route limits each stream (each request, each response); a
 * TCP route each direction of each connection.
 */
export function bandwidthLimitFilters(limit: BandwidthLimit, mode: "http" | "tcp"): string[] {
  const [request, response] =
    mode === "http"
      ? ["http-request", "http-response"]
      : ["tcp-request content", "tcp-response content"];
  const { upload, download } = limit;
  return [
    ...(upload !== undefined
      ? [
          `filter bwlim-in upload default-limit ${upload} default-period 1s`,
          `${request} set-bandwidth-limit upload`,
        ]
      : []),
    ...(download !== undefined
      ? [
          `filter bwlim-out download default-limit ${download} default-period 1s`,
          `${response} set-bandwidth-limit download`,
        ]
      : []),
  ];
}
