import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import type { LogFormat } from '../log.ts';
import { openBackend, type Backend } from '../state/index.ts';

/** Flags every command accepts (declared once on the root program). */
export interface GlobalOptions {
  stateFile: string;
  /** A `postgres://…` URL; undefined means the local file (or $AGENTSPEC_STATE_BACKEND). */
  stateBackend: string | undefined;
  logFormat: LogFormat;
  /** `--log-level` (or `-v`: info); undefined when neither was given. */
  logLevel: string | undefined;
  color: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<Record<string, unknown>>();
  const logFormat = o.logFormat === 'json' ? 'json' : 'text';
  return {
    stateFile: typeof o.stateFile === 'string' ? o.stateFile : '.agentspec.state.json',
    stateBackend: typeof o.stateBackend === 'string' ? o.stateBackend : undefined,
    logFormat,
    logLevel: typeof o.logLevel === 'string' ? o.logLevel : o.v === true ? 'info' : undefined,
    color: o.color !== false,
  };
}

/** The state backend the global flags name: --state-backend / $AGENTSPEC_STATE_BACKEND, else the local file. */
export function openStateBackend(g: GlobalOptions): Backend {
  return openBackend({ stateFile: g.stateFile, ...(g.stateBackend === undefined ? {} : { backend: g.stateBackend }) });
}

/** Where command output goes; tests and embedders may replace it. stdout carries output only. */
export const io = {
  out: (text: string): void => {
    process.stdout.write(text);
  },
  err: (text: string): void => {
    process.stderr.write(text);
  },
};

let exitCode = 0;

/** Exit code of the last action run through `action` (read by main). */
export function lastExitCode(): number {
  return exitCode;
}

export function resetExitCode(): void {
  exitCode = 0;
}

/**
 * Wrap a command handler: it returns the exit code it wants; thrown errors are handled by main
 * (which maps AgentspecError codes to exit codes).
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number> | number): (...args: A) => Promise<void> {
  return async (...args: A) => {
    exitCode = await fn(...args);
  };
}

/**
 * Parse a duration flag like `30s`, `1m`, `500ms` or `2h` into ms. A bare number is refused (is
 * `30` seconds or milliseconds?), except `0`, which means "do not wait".
 */
export function parseDuration(flag: string, value: string): number {
  const v = value.trim();
  if (/^0+(\.0+)?$/.test(v)) return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v);
  if (m === null) {
    const hint = /^\d+(\.\d+)?$/.test(v) ? ` (a unit is needed: ${v}s or ${v}ms?)` : ' (use e.g. 500ms, 30s, 5m, 2h; 0 means no wait)';
    throw new UsageError(`${flag}: invalid duration "${value}"${hint}`);
  }
  const n = Number(m[1]);
  const unit = m[2];
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}
