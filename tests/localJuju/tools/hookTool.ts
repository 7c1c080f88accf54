// The shape every hook tool implementation shares.

import type { HookContext } from "../hookContext.js";

export interface ToolOutput {
  readonly stdout: string;
  readonly stderr?: string;
}

/** `input` is the content of `--file` (stdin for `-`), read by the tool's client. */
export type HookTool = (
  context: HookContext,
  args: readonly string[],
  input: string | undefined,
) => ToolOutput;

export function printed(stdout: string): ToolOutput {
  return { stdout };
}
