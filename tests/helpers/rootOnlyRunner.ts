// The e2e project's test runner: vitest's own as root. Otherwise no test file
// is imported (some ask haproxy its version on import) and each stands as one
// skipped test that says why.
import { TestRunner, test } from "vitest";

import { e2eSkipReason } from "./e2eNeedsRoot.js";

export default class RootOnlyRunner extends TestRunner {
  override importFile(...args: Parameters<TestRunner["importFile"]>): unknown {
    const [, source] = args;
    const reason = e2eSkipReason();
    if (source === "collect" && reason !== undefined) {
      test.skip(reason, () => undefined);
      return undefined;
    }
    return super.importFile(...args);
  }
}
