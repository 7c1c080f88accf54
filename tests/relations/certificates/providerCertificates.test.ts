// The provider's bag is capped in bytes, as Juju stores it, not in characters.
import { describe, expect, it } from "vitest";

import {
  MAX_CERTIFICATES_BYTES,
  readProviderCertificates,
} from "../../../src/relations/certificates/providerCertificates.js";

describe("the provider's certificates bag", () => {
  it("is ignored past 16 MiB of UTF-8 even when it holds fewer characters", () => {
    // "é" is two bytes: about half as many characters as the cap, two bytes over it.
    const characters = MAX_CERTIFICATES_BYTES / 2;
    const raw = `[${JSON.stringify("é".repeat(characters - 1))}]`;
    expect(raw.length).toBeLessThan(MAX_CERTIFICATES_BYTES);
    expect(Buffer.byteLength(raw)).toBe(MAX_CERTIFICATES_BYTES + 2);
    expect(readProviderCertificates({ certificates: raw })).toEqual({
      entries: [],
      problems: [
        `certificates: ${MAX_CERTIFICATES_BYTES + 2} bytes, more than ${MAX_CERTIFICATES_BYTES}; ignored`,
      ],
    });
  });
});
