// What enable_hsts adds to the backend of an ingress or haproxy-route route:
// over TLS only, browsers come back over HTTPS only for a year (what HSTS
// preload lists ask for).
export const HSTS_MAX_AGE_SECONDS = 31_536_000;

export const HSTS_RESPONSE = `http-response set-header Strict-Transport-Security max-age=${HSTS_MAX_AGE_SECONDS} if { ssl_fc }`;
