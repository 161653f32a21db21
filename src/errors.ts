/** Process exit codes, shared by every command (see README "Exit codes"). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  lockTimeout: 3,
  stateCorrupted: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Base of every error agentspec raises on purpose. `code` is stable (scripts and the HTTP API
 * rely on it); `exitCode` is what the CLI exits with when this error ends a command.
 */
export class AgentspecError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: ExitCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? ExitCode.failure;
  }
}

/** Wrong flags or arguments: exit code 2. */
export class UsageError extends AgentspecError {
  constructor(message: string) {
    super('E_USAGE', message, { exitCode: ExitCode.usage });
  }
}

/** The message of any thrown value, for logs and user-facing text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
