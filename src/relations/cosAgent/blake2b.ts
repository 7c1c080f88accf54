// BLAKE2b (RFC 7693), unkeyed, with a chosen digest length. The cos_agent
// library names scrape jobs with Python's hashlib.blake2b(digest_size=4),
// and a short BLAKE2b is not a truncated BLAKE2b-512 (the length is part of
// the parameter block), so Node.js's blake2b512 cannot give it. Speed does not
// matter here: the input is one small scrape config.

const MASK = 0xffffffffffffffffn;
const BLOCK_BYTES = 128;

const IV: readonly bigint[] = [
  0x6a09e667f3bcc908n,
  0xbb67ae8584caa73bn,
  0x3c6ef372fe94f82bn,
  0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n,
  0x9b05688c2b3e6c1fn,
  0x1f83d9abfb41bd6bn,
  0x5be0cd19137e2179n,
];

const SIGMA: readonly (readonly number[])[] = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/** The hex digest of `input` in `digestBytes` bytes (1 to 64). */
export function blake2bHex(input: Uint8Array, digestBytes: number): string {
  if (!Number.isInteger(digestBytes) || digestBytes < 1 || digestBytes > 64) {
    throw new RangeError(`BLAKE2b digest length must be 1 to 64 bytes, not ${digestBytes}`);
  }
  const h = [...IV];
  // Parameter block: digest length, no key, fanout 1, depth 1.
  h[0] = word(h, 0) ^ 0x01010000n ^ BigInt(digestBytes);

  // The last block (even an empty one) is compressed with the final flag.
  const lastStart =
    input.length === 0 ? 0 : Math.floor((input.length - 1) / BLOCK_BYTES) * BLOCK_BYTES;
  for (let start = 0; start < lastStart; start += BLOCK_BYTES) {
    compress(h, input.subarray(start, start + BLOCK_BYTES), BigInt(start + BLOCK_BYTES), false);
  }
  compress(h, input.subarray(lastStart), BigInt(input.length), true);

  const digest = new Uint8Array(64);
  const view = new DataView(digest.buffer);
  h.forEach((value, i) => view.setBigUint64(i * 8, value, true));
  return Buffer.from(digest.subarray(0, digestBytes)).toString("hex");
}

function compress(h: bigint[], chunk: Uint8Array, bytesSoFar: bigint, last: boolean): void {
  const block = new Uint8Array(BLOCK_BYTES);
  block.set(chunk);
  const view = new DataView(block.buffer);
  const m = Array.from({ length: 16 }, (_, i) => view.getBigUint64(i * 8, true));

  const v = [...h, ...IV];
  v[12] = word(v, 12) ^ (bytesSoFar & MASK);
  v[13] = word(v, 13) ^ (bytesSoFar >> 64n);
  if (last) v[14] = word(v, 14) ^ MASK;

  for (let round = 0; round < 12; round++) {
    const s = SIGMA[round % 10] ?? [];
    const x = (i: number) => word(m, s[i] ?? 0);
    mix(v, 0, 4, 8, 12, x(0), x(1));
    mix(v, 1, 5, 9, 13, x(2), x(3));
    mix(v, 2, 6, 10, 14, x(4), x(5));
    mix(v, 3, 7, 11, 15, x(6), x(7));
    mix(v, 0, 5, 10, 15, x(8), x(9));
    mix(v, 1, 6, 11, 12, x(10), x(11));
    mix(v, 2, 7, 8, 13, x(12), x(13));
    mix(v, 3, 4, 9, 14, x(14), x(15));
  }
  for (let i = 0; i < 8; i++) h[i] = word(h, i) ^ word(v, i) ^ word(v, i + 8);
}

/** RFC 7693's G function. */
function mix(v: bigint[], a: number, b: number, c: number, d: number, x: bigint, y: bigint) {
  v[a] = (word(v, a) + word(v, b) + x) & MASK;
  v[d] = rotateRight(word(v, d) ^ word(v, a), 32n);
  v[c] = (word(v, c) + word(v, d)) & MASK;
  v[b] = rotateRight(word(v, b) ^ word(v, c), 24n);
  v[a] = (word(v, a) + word(v, b) + y) & MASK;
  v[d] = rotateRight(word(v, d) ^ word(v, a), 16n);
  v[c] = (word(v, c) + word(v, d)) & MASK;
  v[b] = rotateRight(word(v, b) ^ word(v, c), 63n);
}

function rotateRight(value: bigint, bits: bigint): bigint {
  return ((value >> bits) | (value << (64n - bits))) & MASK;
}

// noUncheckedIndexedAccess: every index here is in range by construction.
function word(words: readonly bigint[], i: number): bigint {
  return words[i] ?? 0n;
}
