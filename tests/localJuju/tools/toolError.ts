// A hook tool's failure: printed as `ERROR <message>` with a non-zero exit,
// like Juju's jujuc. Usage mistakes exit 2, everything else 1.

export class ToolError extends Error {
  override readonly name = "ToolError";
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
  }
}

export function usageError(message: string): ToolError {
  return new ToolError(message, 2);
}
