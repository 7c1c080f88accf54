// The sample expressions a haproxy-route rewrite may hold: each fetch and
// converter taken is loaded by haproxy 2.6 and 3.0 with the arguments the
// check lets through, and what the check refuses is what would read a file
// or the environment, or make haproxy refuse the whole configuration.
import { describe, expect, it } from "vitest";

import { InvalidField } from "../../../src/model/fieldChecks.js";
import {
  REWRITE_CONVERTERS,
  REWRITE_FETCHES,
  checkRewriteExpression,
} from "../../../src/relations/haproxyRoute/rewriteExpression.js";
import { checkHaproxyConfig } from "../../helpers/haproxyCheck.js";
import { haproxyVersions } from "../../helpers/haproxyVersions.js";

/** A use of each fetch, with the arguments it takes. */
const FETCH_EXAMPLES: Readonly<Record<string, string>> = {
  base: "base",
  cook: "cook(sid)",
  dst_port: "dst_port",
  hdr: "hdr(x-a)",
  int: "int(-3)",
  method: "method",
  path: "path",
  pathq: "pathq",
  query: "query",
  "req.cook": "req.cook(sid)",
  "req.fhdr": "req.fhdr(user-agent)",
  "req.hdr": "req.hdr(host)",
  "req.ver": "req.ver",
  src: "src",
  src_port: "src_port",
  ssl_fc: "ssl_fc",
  ssl_fc_sni: "ssl_fc_sni",
  str: "str(/a.b~:@!*+=&?-)",
  "unique-id": "unique-id",
  url: "url",
  url_param: "url_param(page)",
  urlp: "urlp(page)",
  uuid: "uuid",
  var: "var(txn.route)",
};

/** Uses of each converter, with the arguments it takes. */
const CONVERTER_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  b64dec: ["b64dec"],
  base64: ["base64"],
  crc32: ["crc32"],
  field: ["field(2,/)", "field(-1,/.,3)"],
  hex: ["hex"],
  length: ["length"],
  lower: ["lower"],
  regsub: ["regsub(^/api/,/)", "regsub(^/a.*b+c?,,gi)", "regsub(-~_,x,i)"],
  sha1: ["sha1"],
  upper: ["upper"],
  url_dec: ["url_dec"],
  word: ["word(1,/)", "word(-2,/,2)"],
};

/** Expressions the check takes, each a different shape. */
const ACCEPTED = [
  "/plain",
  "a=1&b=2",
  "100%%",
  "/v2%[path]",
  "%[path]%[query]",
  "/x[y]",
  "%[str()]",
  ...Object.values(FETCH_EXAMPLES).map((fetch) => `%[${fetch}]`),
  ...Object.values(CONVERTER_EXAMPLES)
    .flat()
    .map((converter) => `%[path,${converter}]`),
  `%[req.hdr(host),lower,field(1,.),regsub(^www.,),upper]`,
];

/** Expressions the check refuses, with why. */
const REFUSED: readonly (readonly [string, string])[] = [
  ["%[env(HOME)]", "reads haproxy's environment"],
  ["%[path,map(/etc/passwd)]", "reads a file"],
  ["%[path,map_beg(/etc/passwd)]", "reads a file"],
  ["%[req.hdr(a),jwt_verify(RS256,/etc/ssl/private/key.pem)]", "reads a file"],
  ["%[lua.f]", "runs Lua"],
  ["%[src,lua.f]", "runs Lua"],
  ["%[nosuch]", "haproxy refuses: an unknown fetch"],
  ["%[path,nosuch]", "haproxy refuses: an unknown converter"],
  ["%[nbsrv(good)]", "haproxy refuses: no such backend (and reads another proxy)"],
  ["%[src,table_http_req_rate(good)]", "haproxy refuses: no such table"],
  ["%[path,ipmask(99)]", "haproxy refuses: a bad argument"],
  ["%[path,field(0,/)]", "haproxy refuses: field 0"],
  ["%[path,regsub(a**,x)]", "haproxy refuses: a regex that does not compile"],
  ["%[path,regsub(a?*,x)]", "haproxy refuses: a regex that does not compile"],
  ["%[path,regsub((,x)]", "haproxy refuses: a regex that does not compile"],
  ["%[path()]", "an argument where none is taken"],
  ["%[hdr]", "a missing argument"],
  ["%[hdr(a,b,c)]", "too many arguments"],
  ["%[var(res.x)]", "a scope a request rule cannot read"],
  ["%[path,,lower]", "an empty step"],
  ["%[path", "an unclosed sample"],
  ["%zz", "haproxy refuses: an unknown variable"],
  ["%H", "a log variable: not a rewrite's business"],
  ["/a%", "haproxy refuses: a truncated %"],
  ["%{+Q}[path]", "flags"],
];

function problem(expression: string): string | undefined {
  try {
    checkRewriteExpression(expression, "rewrites[0].expression");
    return undefined;
  } catch (error) {
    if (!(error instanceof InvalidField)) throw error;
    expect(error.field).toBe("rewrites[0].expression");
    return error.problem;
  }
}

/** A configuration with each expression in a set-path and a set-header rule. */
function configWith(expressions: readonly string[]): string {
  return [
    "defaults",
    "    mode http",
    "    timeout client 1s",
    "    timeout server 1s",
    "    timeout connect 1s",
    "frontend f",
    // Not bound: haproxy -c only reads the configuration.
    "    bind 127.0.0.1:8080",
    "    default_backend b",
    "backend b",
    ...expressions.flatMap((expression) => [
      `    http-request set-path ${expression}`,
      `    http-request set-header X-Rewrite ${expression}`,
    ]),
    "    server s 10.0.0.1:80",
    "",
  ].join("\n");
}

describe("rewrite expressions", () => {
  it("has an example of every fetch and converter it takes", () => {
    expect(Object.keys(FETCH_EXAMPLES).sort()).toEqual([...REWRITE_FETCHES].sort());
    expect(Object.keys(CONVERTER_EXAMPLES).sort()).toEqual([...REWRITE_CONVERTERS].sort());
  });

  it.each(ACCEPTED)("takes %s", (expression) => {
    expect(problem(expression)).toBeUndefined();
  });

  it.each(REFUSED)("refuses %s (%s)", (expression) => {
    expect(problem(expression)).toMatch(/^".*": \S/);
  });

  it.each(haproxyVersions)(
    "takes only what haproxy $version loads",
    async ({ binary }) => {
      const accepted = await checkHaproxyConfig(configWith(ACCEPTED), binary);
      expect(accepted.output).not.toMatch(/ALERT|WARNING/);
      expect(accepted.ok).toBe(true);
      // The check can fail: what it refuses as haproxy's own refusal, haproxy refuses.
      for (const [expression, why] of REFUSED) {
        if (!why.startsWith("haproxy refuses")) continue;
        const refused = await checkHaproxyConfig(configWith([expression]), binary);
        expect(refused.ok, expression).toBe(false);
      }
    },
    120_000,
  );
});
