import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ensureModeAndOwner,
  lookupAccountIds,
  lookupSystemAccount,
  readIfExists,
  writeFileAtomic,
} from "../../src/lib/atomicFile.js";
import { ApplyError } from "../../src/lib/errors.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-file-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeFileAtomic", () => {
  it("replaces a file with the exact mode asked for and leaves no temporary file", async () => {
    const file = join(dir, "haproxy.cfg");
    await writeFile(file, "old");
    const before = await stat(file);

    const result = await writeFileAtomic(file, "new content\n", { mode: 0o640 });

    expect(result).toEqual({});
    expect(await readFile(file, "utf8")).toBe("new content\n");
    const after = await stat(file);
    expect(after.mode & 0o7777).toBe(0o640);
    // A rename, not an in-place write: readers holding the old file keep the old bytes.
    expect(after.ino).not.toBe(before.ino);
    expect(await readdir(dir)).toEqual(["haproxy.cfg"]);
  });

  it("gives the file to an existing user", async () => {
    const file = join(dir, "key.pem");
    const haproxy = await lookupSystemAccount("haproxy");
    expect(haproxy).toBeDefined();

    await writeFileAtomic(file, "secret", { mode: 0o600, owner: "haproxy" });

    const info = await stat(file);
    expect({ uid: info.uid, gid: info.gid }).toEqual(haproxy);
  });

  it("keeps root's ownership and says so when the user does not exist", async () => {
    const file = join(dir, "key.pem");

    const result = await writeFileAtomic(file, "secret", {
      mode: 0o600,
      owner: "no-such-user-here",
    });

    expect(result.ownerWarning).toMatch(/no-such-user-here does not exist/);
    const info = await stat(file);
    expect([info.uid, info.mode & 0o777]).toEqual([process.getuid?.(), 0o600]);
  });

  it("fails with ApplyError and leaves nothing behind when the directory is missing", async () => {
    await expect(
      writeFileAtomic(join(dir, "missing", "file"), "x", { mode: 0o644 }),
    ).rejects.toBeInstanceOf(ApplyError);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("ensureModeAndOwner", () => {
  it("tightens a file's mode without rewriting it", async () => {
    const file = join(dir, "default.pem");
    await writeFile(file, "key", { mode: 0o644 });
    const before = await stat(file);

    await ensureModeAndOwner(file, { mode: 0o600, owner: "haproxy" });

    const after = await stat(file);
    expect(after.mode & 0o7777).toBe(0o600);
    expect(after.uid).toBe((await lookupSystemAccount("haproxy"))?.uid);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });
});

describe("readIfExists", () => {
  it("returns the content, or undefined for a missing file", async () => {
    await writeFile(join(dir, "a"), "text");
    expect(await readIfExists(join(dir, "a"))).toBe("text");
    expect(await readIfExists(join(dir, "b"))).toBeUndefined();
  });

  it("fails with ApplyError for anything else", async () => {
    await expect(readIfExists(dir)).rejects.toBeInstanceOf(ApplyError);
  });
});

describe("lookupAccountIds", () => {
  const passwd =
    "root:x:0:0:root:/root:/bin/bash\nhaproxy:x:102:105::/var/lib/haproxy:/usr/sbin/nologin\n";
  const group = "root:x:0:\nhaproxy:x:105:\nssl-cert:x:110:\n";

  it.each([
    ["a user with its primary group", "haproxy", { uid: 102, gid: 105 }],
    ["a user with a named group", "haproxy:ssl-cert", { uid: 102, gid: 110 }],
    ["an unknown user", "nobody-here", undefined],
    ["an unknown group", "haproxy:nogroup", undefined],
    ["a prefix of a user name", "hap", undefined],
  ])("%s", (_name, owner, expected) => {
    expect(lookupAccountIds(owner, passwd, group)).toEqual(expected);
  });
});
