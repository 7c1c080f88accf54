// The relation data policy against haproxy's own reading of a line: lines
// that make haproxy open a file, written the many ways haproxy's parser
// allows (quotes, `\x` escapes, `"$VAR"`), are generated; real haproxy proves
// each one opens the file (it names the missing canary path), and the policy
// must refuse every one of them.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { InvalidField } from "../../src/model/fieldChecks.js";
import { RelationPolicy } from "../../src/model/relationPolicy.js";
import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";

const CANARY = `/nonexistent-canary-${process.pid}/secret`;
// haproxy expands "$VAR" inside double quotes from its own environment.
const KEYWORD_VARIABLE = "RELATION_POLICY_FUZZ_KEYWORD";

/** Ways haproxy's parser reads as `word`. */
function spellings(word: string): fc.Arbitrary<string> {
  const hex = (char: string) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`;
  return fc.oneof(
    fc.constant(word),
    fc.constant(`"${word}"`),
    fc.constant(`'${word}'`),
    fc
      .integer({ min: 1, max: word.length - 1 })
      .map((cut) => `"${word.slice(0, cut)}"${word.slice(cut)}`),
    fc
      .integer({ min: 1, max: word.length - 1 })
      .map((cut) => `${word.slice(0, cut)}'${word.slice(cut)}'`),
    fc
      .subarray([...[...word].keys()], { minLength: 1 })
      .map((escaped) =>
        [...word].map((char, i) => (escaped.includes(i) ? hex(char) : char)).join(""),
      ),
  );
}

/** The keyword through the environment: only for the words the test exports. */
const throughEnvironment = (word: string) =>
  fc.constant(word === "file" ? `"$${KEYWORD_VARIABLE}"` : word);

const keyword = (word: string) => fc.oneof(spellings(word), throughEnvironment(word));

// Each template opens CANARY when haproxy parses it.
const fileReadingLines: fc.Arbitrary<string> = fc.oneof(
  keyword("file").map(
    (file) => `http-request return status 200 content-type text/plain ${file} ${CANARY}`,
  ),
  keyword("lf-file").map((file) => `http-request return status 200 ${file} ${CANARY}`),
  keyword("file").map((file) => `http-error status 503 content-type text/plain ${file} ${CANARY}`),
  keyword("-f").map((flag) => `acl from_file src ${flag} ${CANARY}`),
  keyword("map").map((map) => `http-request set-header X-Where %[src,${map}(${CANARY})]`),
  keyword("map_ip").map((map) => `http-request set-header X-Where %[src,${map}(${CANARY})]`),
);

const configWith = (line: string) =>
  [
    "global",
    "    log stdout format raw local0",
    "defaults",
    "    mode http",
    "    timeout client 1s",
    "    timeout server 1s",
    "    timeout connect 1s",
    "frontend front",
    "    bind 127.0.0.1:8080",
    `    ${line}`,
    "    default_backend back",
    "backend back",
    "    server s 127.0.0.1:8081",
    "",
  ].join("\n");

function refusal(line: string): string | undefined {
  try {
    new RelationPolicy({ trusted: false }).serviceLine(line, "service_options[0]");
    return undefined;
  } catch (error) {
    if (error instanceof InvalidField) return error.message;
    throw error;
  }
}

beforeAll(() => {
  process.env.RELATION_POLICY_FUZZ_KEYWORD = "file";
});
afterAll(() => {
  delete process.env.RELATION_POLICY_FUZZ_KEYWORD;
});

describe.each(haproxyVersions)("lines haproxy $version opens a file for", ({ binary }) => {
  it("are each refused by the policy, however they are spelled", async () => {
    await fc.assert(
      fc.asyncProperty(fileReadingLines, async (line) => {
        const checked = await checkHaproxyConfig(configWith(line), binary);
        // The generator is honest: haproxy itself went for the file.
        expect(checked.output, line).toContain(CANARY);
        expect(refusal(line), line).toBeDefined();
      }),
      { numRuns: 120 },
    );
  });
});
