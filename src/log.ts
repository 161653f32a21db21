import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export type LogFormat = 'text' | 'json';

export interface LogOptions {
  format?: LogFormat;
  level?: string;
  color?: boolean;
}

// Child processes (the runtime started by `apply`, test children) inherit these so that one
// setting governs the whole process tree.
function envDefaults(): Required<LogOptions> {
  const format = process.env.AGENTSPEC_LOG_FORMAT === 'json' ? 'json' : 'text';
  return {
    format,
    level: process.env.AGENTSPEC_LOG_LEVEL ?? 'info',
    color: process.env.NO_COLOR === undefined && process.stderr.isTTY === true,
  };
}

function build(opts: LogOptions): Logger {
  const o = { ...envDefaults(), ...opts };
  if (o.format === 'json') {
    // Synchronous stderr writes: a log line must not be lost when the process is killed right after.
    return pino({ level: o.level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
  }
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: o.color,
    ignore: 'hostname',
    translateTime: 'SYS:HH:MM:ss.l',
  });
  return pino({ level: o.level, base: { pid: process.pid } }, stream);
}

let root: Logger = build({});

/** Reconfigure the process-wide logger (the CLI does this once from its global flags). */
export function configureLogging(opts: LogOptions): void {
  root = build(opts);
}

/**
 * The logger for one component. Call it where you log rather than caching it at import time,
 * so a later `configureLogging` (CLI flags) takes effect everywhere.
 */
export function logger(component?: string): Logger {
  return component === undefined ? root : root.child({ component });
}
