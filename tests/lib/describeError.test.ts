import { describe, expect, it } from "vitest";

import { describeError } from "../../src/lib/describeError.js";

describe("describeError", () => {
  it("gives an Error's message, and any other thrown value as text", () => {
    expect(describeError(new TypeError("not a function"))).toBe("not a function");
    expect(describeError("plain text")).toBe("plain text");
    expect(describeError(42)).toBe("42");
    expect(describeError(undefined)).toBe("undefined");
  });
});
