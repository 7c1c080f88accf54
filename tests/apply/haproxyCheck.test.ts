import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { firstHaproxyError, validateHaproxyConfig } from "../../src/apply/haproxyCheck.js";
import { ApplyError, ValidationError } from "../../src/lib/errors.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "haproxy-check-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const validConfig = [
  "defaults",
  "    mode http",
  "    timeout connect 1s",
  "    timeout client 1s",
  "    timeout server 1s",
  "frontend web",
  "    bind 127.0.0.1:8080",
  "    default_backend app",
  "backend app",
  "    server app-0 127.0.0.1:9",
  "",
].join("\n");

async function configFile(text: string): Promise<string> {
  const file = join(dir, "haproxy.cfg");
  await writeFile(file, text);
  return file;
}

describe("validateHaproxyConfig", () => {
  it("accepts a configuration haproxy accepts", async () => {
    await expect(validateHaproxyConfig("haproxy", await configFile(validConfig))).resolves.toBe(
      undefined,
    );
  });

  it("reports haproxy's first complaint, without its prefix, and keeps the whole output", async () => {
    const file = await configFile(
      validConfig.replace("\nbackend app\n", "\nbackend app\n    balance nonsense\n    bogus 1\n"),
    );

    const error = await validateHaproxyConfig("haproxy", file).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ValidationError);
    const { firstError, output } = error as ValidationError;
    expect(firstError).toMatch(/^parsing \[.*haproxy\.cfg:10\] : balance only supports/);
    expect(output).toContain("unknown keyword 'bogus'");
    expect(output).toContain("[ALERT]");
  });

  it("fails with ApplyError when haproxy cannot be run at all", async () => {
    await expect(
      validateHaproxyConfig(join(dir, "no-such-haproxy"), await configFile(validConfig)),
    ).rejects.toBeInstanceOf(ApplyError);
  });
});

describe("firstHaproxyError", () => {
  it.each([
    [
      "coloured alert",
      "\u001b[1;33m[NOTICE]\u001b[0m   (7) : haproxy version is 2.6\n\u001b[1;31m[ALERT]\u001b[0m    (7) : config : parsing [a.cfg:3] : unknown keyword 'x'\n[ALERT]    (7) : config : Fatal errors found in configuration.\n",
      "parsing [a.cfg:3] : unknown keyword 'x'",
    ],
    [
      "a previous worker stopping and a syslog socket it cannot reach before the real reason",
      "[ALERT]    (8) : Current worker (12) exited with code 143 (Terminated)\n[ALERT]    (8) : exit-on-failure: killing every processes with SIGTERM\n[ALERT]    (9) : sendmsg()/writev() failed in logger #1: No such file or directory (errno=2)\n[ALERT]    (9) : Starting frontend haproxy-0-80: cannot bind socket (Address already in use) [0.0.0.0:80]\n",
      "Starting frontend haproxy-0-80: cannot bind socket (Address already in use) [0.0.0.0:80]",
    ],
    ["no alert line", "\n\nsomething odd happened\nmore\n", "something odd happened"],
    ["no output", "", "haproxy -c failed without output"],
  ])("%s", (_name, output, expected) => {
    expect(firstHaproxyError(output)).toBe(expected);
  });
});
