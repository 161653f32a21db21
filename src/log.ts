import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { LineBatch } from './line-batch.ts';

export type { Logger };
export type LogFormat = 'text' | 'json';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Commands are quiet unless asked: warnings and errors only. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'warn';

export interface LogOptions {
  format?: LogFormat;
  level?: string;
  color?: boolean;
}

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

// Child processes (the runtime started by `apply`, test children) inherit these so that one
// setting governs the whole process tree.
function envDefaults(): Required<LogOptions> {
  const format = process.env.AGENTSPEC_LOG_FORMAT === 'json' ? 'json' : 'text';
  const level = process.env.AGENTSPEC_LOG_LEVEL;
  return {
    format,
    level: level !== undefined && isLogLevel(level) ? level : DEFAULT_LOG_LEVEL,
    color: process.env.NO_COLOR === undefined && process.stderr.isTTY === true,
  };
}

// pino and pino-pretty are loaded when the first line is logged at an enabled level, not at
// import nor at a filtered-out debug line: a command that logs nothing at its level (`--version`,
// a quiet `validate` or `plan`) starts without them.
type LoggingModule = 'pino' | 'pino-pretty';
let load: (id: LoggingModule) => unknown = createRequire(import.meta.url);

/**
 * For dist/runtime.cjs (scripts/build.js): pino and pino-pretty from inside the bundle, where
 * they are under its code cache, instead of from node_modules, where every runtime compiles them
 * again (a fifth of a runtime's start).
 */
export function loadLoggingFrom(bundled: (id: LoggingModule) => unknown): void {
  load = bundled;
}

/** Request lines wait in memory for at most this many bytes or TRAFFIC_FLUSH_MS, then are written. */
const TRAFFIC_BUFFER_BYTES = 65_536;
const TRAFFIC_FLUSH_MS = 100;

/** Where the request lines of the current root logger go and the level number it logs from (JSON format only). */
let jsonOut: { dest: LineBatch; threshold: number } | undefined;
let flushesAtExit = false;

/** What waits in the current batch of request lines is written when the process exits. */
function flushAtExit(): void {
  if (flushesAtExit) return;
  flushesAtExit = true;
  process.once('exit', () => jsonOut?.dest.flush());
}

function build(opts: LogOptions): Logger {
  const o = { ...envDefaults(), ...opts };
  const pino = load('pino') as typeof import('pino');
  if (o.format === 'json') {
    // Synchronous stderr writes, so that a warning or error is never lost when the process is
    // killed right after it. Request lines are the exception: a write per request was a large
    // share of the runtime's CPU per request, so they are gathered and written together (at
    // most TRAFFIC_FLUSH_MS late; on SIGKILL the last ones can be lost, never other lines). Every
    // line through pino first writes the request lines that wait, so the log stays in order.
    const batch = new LineBatch(2, { maxBytes: TRAFFIC_BUFFER_BYTES, maxDelayMs: TRAFFIC_FLUSH_MS });
    flushAtExit();
    jsonOut = { dest: batch, threshold: thresholdOf(o.level) };
    const dest = pino.destination({ fd: 2, sync: true });
    return pino.pino(
      {
        level: o.level,
        base: { pid: process.pid },
        hooks: {
          logMethod(args, method) {
            batch.flush();
            method.apply(this, args);
          },
        },
      },
      dest,
    );
  }
  const pretty = load('pino-pretty') as typeof import('pino-pretty');
  const stream = pretty.build({
    destination: 2,
    sync: true,
    colorize: o.color,
    ignore: 'hostname',
    translateTime: 'SYS:HH:MM:ss.l',
    // One line per record: a warning on a terminal is one line, not a block of fields.
    singleLine: true,
  });
  return pino.pino({ level: o.level, base: { pid: process.pid } }, stream);
}

let options: LogOptions = {};
let root: Logger | undefined;
// One child per component of the current root: the runtime logs a line per request, and
// building a child each time showed in its profile.
const children = new Map<string, Logger>();

/** Reconfigure the process-wide logger (the CLI does this once from its global flags). */
export function configureLogging(opts: LogOptions): void {
  options = opts;
  root = undefined;
  // The logger being replaced writes what its batch holds first: the log stays in order.
  jsonOut?.dest.flush();
  jsonOut = undefined;
  children.clear();
}

function rootLogger(): Logger {
  root ??= build(options);
  return root;
}

const LEVEL_VALUES: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** The lowest level number a logger set to `level` writes (an unknown name counts as the default). */
function thresholdOf(level: string): number {
  return LEVEL_VALUES[isLogLevel(level) ? level : DEFAULT_LOG_LEVEL];
}

function isLevelMethod(prop: string | symbol): prop is Exclude<LogLevel, 'silent'> {
  return typeof prop === 'string' && prop !== 'silent' && prop in LEVEL_VALUES;
}

/**
 * Stands in for the component's logger until a line at an enabled level is logged: a command
 * whose debug lines are filtered out never loads pino (nor pino-pretty). Anything else asked of it
 * builds the real logger and answers from there.
 */
function deferred(component: string | undefined): Logger {
  const threshold = thresholdOf({ ...envDefaults(), ...options }.level);
  const noop = (): void => {};
  const enabled = (l: string): boolean => isLogLevel(l) && LEVEL_VALUES[l] >= threshold;
  return new Proxy({} as Logger, {
    get(_target, prop) {
      if (isLevelMethod(prop) && LEVEL_VALUES[prop] < threshold) return noop;
      // Asked whether a level is on (to skip building a record): answered without pino too.
      if (prop === 'isLevelEnabled') return enabled;
      const real = realLogger(component);
      const value: unknown = Reflect.get(real, prop, real);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real) : value;
    },
  });
}

function realLogger(component: string | undefined): Logger {
  const r = rootLogger();
  if (component === undefined) return r;
  let child = children.get(component);
  if (child === undefined) {
    child = r.child({ component });
    children.set(component, child);
  }
  return child;
}

/**
 * The logger for one component. Call it where you log rather than caching it at import time,
 * so a later `configureLogging` (CLI flags) takes effect everywhere.
 */
export function logger(component?: string): Logger {
  return root === undefined ? deferred(component) : realLogger(component);
}

/** The fields of one request line, in the order they are written. */
export interface TrafficFields {
  method: string;
  path: string;
  route: string;
  status: number;
  duration_ms: number;
  agent?: string;
  pipeline?: string;
  session_id?: string;
}

/**
 * One request line at `level`: `fields` and `msg`, from `component`'s logger. In JSON format the
 * line is put together here, in the order pino writes it (level, time, pid, component, fields,
 * msg), and waits in the batch of request lines (see build): pino's generic path took about twice
 * as long per line (profiled under load), and JSON.stringify of the fields four times as long as
 * writing the known fields out here (measured).
 */
export function logTraffic(component: string, level: 'debug' | 'info', fields: TrafficFields, msg: string): void {
  const out = jsonOut;
  // Until the first enabled line builds the root logger (or in text format), through pino.
  if (out === undefined) {
    logger(component)[level](fields, msg);
    return;
  }
  const value = LEVEL_VALUES[level];
  if (value < out.threshold) return;
  const { agent, pipeline, session_id: session } = fields;
  out.dest.write(
    `{"level":${value},"time":${Date.now()}${linePrefix(component)},"method":${jsonString(fields.method)},"path":${jsonString(fields.path)},"route":${jsonString(fields.route)}` +
      `,"status":${jsonNumber(fields.status)},"duration_ms":${jsonNumber(fields.duration_ms)}${agent === undefined ? '' : `,"agent":${jsonString(agent)}`}` +
      `${pipeline === undefined ? '' : `,"pipeline":${jsonString(pipeline)}`}${session === undefined ? '' : `,"session_id":${jsonString(session)}`},"msg":${jsonString(msg)}}\n`,
  );
}

function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** What a request line of `component` has after its time: the pid and the component. */
const prefixes = new Map<string, string>();

function linePrefix(component: string): string {
  let prefix = prefixes.get(component);
  if (prefix === undefined) prefixes.set(component, (prefix = `,"pid":${process.pid},"component":${JSON.stringify(component)}`));
  return prefix;
}

/**
 * A character JSON escapes, written as the complement of those it does not: a quote, a backslash,
 * a control character, or a surrogate (JSON.stringify escapes a lone one; any goes the long way).
 */
const ESCAPED_IN_JSON = /[^\x20\x21\x23-\x5b\x5d-\ud7ff\ue000-\uffff]/;

/** A JSON string literal: most request fields (paths, ids, names) need no escaping and are quoted as they are. */
function jsonString(s: string): string {
  return ESCAPED_IN_JSON.test(s) ? JSON.stringify(s) : `"${s}"`;
}
