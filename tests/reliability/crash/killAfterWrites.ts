// Test-only preload (`node --import`) for the crash-consistency test. It
// counts every call that changes the file system through node:fs/promises,
// including the FileHandle methods atomic writes use, and SIGKILLs the
// process right after call number KILL_AFTER_WRITES. With TORN_WRITE=1, a
// call number KILL_AFTER_WRITES that writes data writes only half of it
// first: a crash in the middle of a write. KILL_LOG names a file that
// receives one line per call, so a run without a kill lists every step.
import { appendFileSync } from "node:fs";
import fs from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";

const killAfter = Number(process.env.KILL_AFTER_WRITES ?? Infinity);
const tornWrite = process.env.TORN_WRITE === "1";
const log = process.env.KILL_LOG;
let count = 0;

function die(): never {
  process.kill(process.pid, "SIGKILL");
  // SIGKILL is not delivered instantly to every thread: make sure nothing else runs.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
  throw new Error("still alive after SIGKILL");
}

function describeTarget(target: unknown): string {
  if (typeof target === "string") return target;
  if (target instanceof URL) return target.pathname;
  return String(target);
}

type AnyFunction = (...args: unknown[]) => Promise<unknown>;

/** Wraps `holder[name]` so that every call counts as one step. */
function countCalls(
  holder: Record<string, unknown>,
  name: string,
  label: string,
  onFileHandle = false,
): void {
  const original = holder[name] as AnyFunction;
  holder[name] = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const step = count + 1;
    if (tornWrite && step === killAfter && name === "writeFile" && onFileHandle) {
      // Half the data reaches the file, then the process dies.
      const data = Buffer.from(args[0] as string);
      await (this as { write(data: Buffer): Promise<unknown> }).write(
        data.subarray(0, data.length >> 1),
      );
      die();
    }
    const result = await original.apply(this, args);
    count = step;
    if (log !== undefined) {
      const target = onFileHandle ? "(open file)" : describeTarget(args[0]);
      appendFileSync(log, `${step} ${label} ${target}\n`);
    }
    if (step === killAfter) die();
    return result;
  };
}

const promises = fs as unknown as Record<string, unknown>;
for (const name of [
  "rename",
  "unlink",
  "mkdir",
  "rmdir",
  "rm",
  "chmod",
  "chown",
  "writeFile",
  "copyFile",
  "truncate",
  "appendFile",
  "symlink",
  "link",
]) {
  countCalls(promises, name, name);
}

// open() changes the file system only when it may create or truncate a file.
const open = promises.open as (path: unknown, flags?: unknown, mode?: unknown) => Promise<unknown>;
promises.open = async (path: unknown, flags?: unknown, mode?: unknown): Promise<unknown> => {
  const writes = typeof flags === "string" && /[wax+]/.test(flags);
  if (!writes) return open(path, flags, mode);
  const wrapper: Record<string, unknown> = { open };
  countCalls(wrapper, "open", `open(${flags})`);
  return (wrapper.open as AnyFunction)(path, flags, mode);
};

const handle = (await fs.open("/dev/null", "r")) as unknown as object;
const fileHandle = Object.getPrototypeOf(handle) as Record<string, unknown>;
await (handle as { close(): Promise<void> }).close();
for (const name of ["writeFile", "write", "chmod", "chown", "sync", "datasync", "truncate"]) {
  countCalls(fileHandle, name, `handle.${name}`, true);
}

syncBuiltinESMExports();
