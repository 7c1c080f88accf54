// Real requests through haproxy in the local model, as the e2e tests send them.
import { expect } from "vitest";

import type { LocalModel } from "../localJuju/model.js";

/** Which backend units answer `count` requests to `url` (each answers with its name). */
export async function answeringUnits(
  model: LocalModel,
  url: string,
  count = 12,
): Promise<string[]> {
  const seen = new Set<string>();
  for (let index = 0; index < count; index += 1) {
    const response = await model.http(url, { timeoutMs: 3000 });
    expect(response.status).toBe(200);
    seen.add(response.body.trim());
  }
  return [...seen].sort();
}
