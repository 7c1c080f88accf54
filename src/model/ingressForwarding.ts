// What every ingress (traefik, nginx) tells the application behind it, and
// the prefix it strips when asked: the same for ingress and ingress-per-unit.

/** Backend lines for a route served at `pathPrefix`. */
export function ingressForwarding(pathPrefix: string, stripPrefix: boolean): string[] {
  return [
    "option forwardfor",
    "http-request set-header X-Forwarded-Proto https if { ssl_fc }",
    "http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
    ...(stripPrefix
      ? [
          `http-request set-header X-Forwarded-Prefix ${pathPrefix}`,
          // `/m-a` and `/m-a/x?q` reach the unit as `/` and `/x?q`.
          `http-request replace-path ^${pathPrefix}/?(.*)$ /\\1`,
        ]
      : []),
  ];
}
