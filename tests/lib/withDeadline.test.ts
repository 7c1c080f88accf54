// One deadline for the charm's waits: a hook's DNS lookups give up with no
// addresses, the metrics job's steps fail with an error naming the step.
import { afterEach, describe, expect, it, vi } from "vitest";

import { withDeadline } from "../../src/lib/withDeadline.js";

const never = <T>() => new Promise<T>(() => undefined);

describe("withDeadline", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves with the work's answer when it comes in time, and leaves no timer behind", async () => {
    vi.useFakeTimers();
    const answer = withDeadline(Promise.resolve(["10.0.0.5"]), 1000, () => []);
    await expect(answer).resolves.toEqual(["10.0.0.5"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with the work's own error when it fails in time", async () => {
    const failed = Promise.reject(new Error("cannot resolve nowhere.invalid"));
    await expect(withDeadline(failed, 1000, () => "late")).rejects.toThrow(
      "cannot resolve nowhere.invalid",
    );
  });

  it("gives what onExpiry returns once the time is up", async () => {
    vi.useFakeTimers();
    let settled: string[] | undefined;
    void withDeadline(never<string[]>(), 3000, (): string[] => []).then((value) => {
      settled = value;
    });
    await vi.advanceTimersByTimeAsync(2999);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toEqual([]);
  });

  it("rejects with what onExpiry throws once the time is up", async () => {
    const late = withDeadline(never<string>(), 20, () => {
      throw new Error("sending took longer than 20 ms");
    });
    await expect(late).rejects.toThrow("sending took longer than 20 ms");
  });
});
