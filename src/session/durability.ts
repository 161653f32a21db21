import { AgentspecError, ExitCode } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * How far an append is saved before it is acknowledged (docs/sessions.md "Durability"):
 * `ack` once Redis has applied it (in memory), `fsync` once `WAITAOF 1 0` confirms it is in
 * the server's append-only file on disk.
 */
export const SESSION_DURABILITY_MODES = ['ack', 'fsync'] as const;
export type SessionDurability = (typeof SESSION_DURABILITY_MODES)[number];

/** WAITAOF arrived in Redis 7.2. */
const WAITAOF_SINCE: readonly [number, number] = [7, 2];

/** What the server says about its persistence. undefined: it would not tell. */
export interface PersistenceSettings {
  /** `redis_version` from INFO server. */
  version: string;
  appendonly: boolean | undefined;
  appendfsync: string | undefined;
  /** CONFIG GET, or INFO persistence when CONFIG is disabled (renamed, or refused by an ACL). */
  source: 'config' | 'info';
}

/** `--session-durability fsync` asked for something this server cannot do. */
export class SessionDurabilityUnsupportedError extends AgentspecError {
  readonly serverVersion: string;
  readonly reason: string;

  constructor(serverVersion: string, reason: string) {
    super('E_SESSION_DURABILITY_UNSUPPORTED', `--session-durability fsync cannot be honoured by Redis ${serverVersion}: ${reason}; use --session-durability ack or change the server`, {
      exitCode: ExitCode.usage,
    });
    this.serverVersion = serverVersion;
    this.reason = reason;
  }
}

/**
 * The append was applied, but the server did not confirm it on disk in time. It is not
 * acknowledged: it may be lost if Redis restarts now (and it may also survive).
 */
export class SessionNotDurableError extends AgentspecError {
  readonly sessionId: string;
  readonly local: number;

  constructor(sessionId: string, local: number, timeoutMs: number) {
    super(
      'E_SESSION_NOT_DURABLE',
      `session ${sessionId}: Redis applied the append but did not confirm it in its append-only file within ${timeoutMs} ms (WAITAOF local=${local}); it is not acknowledged and may be lost on a Redis restart`,
    );
    this.sessionId = sessionId;
    this.local = local;
  }
}

function text(x: unknown): string {
  return Buffer.isBuffer(x) ? x.toString('utf8') : String(x);
}

/** CONFIG GET's reply (a flat array, or a map under RESP3) as name -> value. */
function configValues(reply: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) out.set(text(reply[i]), text(reply[i + 1]));
  else if (reply instanceof Map) for (const [k, v] of reply) out.set(text(k), text(v));
  else if (typeof reply === 'object' && reply !== null) for (const [k, v] of Object.entries(reply)) out.set(k, text(v));
  return out;
}

/** `field:value` lines of an INFO section. */
function infoFields(reply: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text(reply).split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return out;
}

/**
 * Reads the server's version and AOF settings: CONFIG first, INFO persistence when CONFIG is
 * refused. A server that refuses INFO too (an ACL) is reported as unknown, never as an error:
 * the store works without knowing. An outage is thrown.
 */
export async function readPersistence(send: (args: string[]) => Promise<unknown>): Promise<PersistenceSettings> {
  const version = (await unlessRefused(send(['INFO', 'server']), (r) => infoFields(r).get('redis_version'))) ?? 'unknown';
  const config = await unlessRefused(Promise.all([send(['CONFIG', 'GET', 'appendonly']), send(['CONFIG', 'GET', 'appendfsync'])]), ([a, f]) => ({
    appendonly: configValues(a).get('appendonly'),
    appendfsync: configValues(f).get('appendfsync'),
  }));
  if (config !== undefined) {
    return { version, appendonly: config.appendonly === undefined ? undefined : config.appendonly === 'yes', appendfsync: config.appendfsync, source: 'config' };
  }
  // Managed services rename or forbid CONFIG.
  const aof = await unlessRefused(send(['INFO', 'persistence']), (r) => infoFields(r).get('aof_enabled'));
  return { version, appendonly: aof === undefined ? undefined : aof === '1', appendfsync: undefined, source: 'info' };
}

/** `read` of the reply, or undefined when the server refuses the command. */
async function unlessRefused<T, R>(reply: Promise<T>, read: (r: T) => R): Promise<R | undefined> {
  try {
    return read(await reply);
  } catch (err) {
    if (isRefusal(err)) return undefined;
    throw err;
  }
}

/** The server's error reply (kept as the cause by the store's error translation) refuses the command. */
function isRefusal(err: unknown): boolean {
  const reply = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return reply instanceof Error && /^(ERR unknown command|ERR unknown subcommand|NOPERM)/.test(reply.message);
}

/** Why acknowledged messages could be lost on a restart of this server, or undefined when they would not be. */
export function persistenceRisk(s: PersistenceSettings): string | undefined {
  if (s.appendonly === false) return 'the append-only file is off (appendonly no)';
  if (s.appendfsync === 'no') return 'the append-only file is written but left to the OS to flush (appendfsync no)';
  return undefined;
}

function versionAtLeast(version: string, min: readonly [number, number]): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

/**
 * The start-up check of the Redis store: a WARN when acknowledged messages can be lost on a
 * Redis restart; with `fsync`, refuses a server that cannot confirm writes on disk.
 */
export function checkDurability(settings: PersistenceSettings, mode: SessionDurability, log: Logger): void {
  const risk = persistenceRisk(settings);
  if (mode === 'fsync') {
    if (!versionAtLeast(settings.version, WAITAOF_SINCE)) throw new SessionDurabilityUnsupportedError(settings.version, 'WAITAOF needs Redis 7.2 or later');
    if (settings.appendonly === false) throw new SessionDurabilityUnsupportedError(settings.version, 'the append-only file is off (appendonly no), so nothing is ever confirmed on disk');
    return;
  }
  if (risk !== undefined) {
    log.warn(
      { redis_version: settings.version, appendonly: settings.appendonly, appendfsync: settings.appendfsync, source: settings.source },
      `${risk}: acknowledged session messages can be lost on a Redis restart (turn on appendonly, or run with --session-durability fsync)`,
    );
  } else if (settings.appendonly === undefined) {
    log.warn({ redis_version: settings.version }, 'could not read the Redis persistence settings: acknowledged session messages may be lost on a Redis restart');
  }
}

/** WAITAOF's timeout: half the command deadline, so its own answer arrives before the deadline cuts it off. */
export function waitAofTimeoutMs(commandTimeoutMs: number): number {
  return Math.max(1, Math.floor(commandTimeoutMs / 2));
}

/** The arguments of the WAITAOF that confirms the previous writes of this connection on the local disk. */
export function waitAofCommand(timeoutMs: number): string[] {
  return ['WAITAOF', '1', '0', String(timeoutMs)];
}

/** Throws SessionNotDurableError unless WAITAOF's reply `[local, replicas]` says the local AOF has it. */
export function assertOnDisk(reply: unknown, sessionId: string, timeoutMs: number): void {
  const local = Array.isArray(reply) ? Number(reply[0]) : Number.NaN;
  if (!(local >= 1)) throw new SessionNotDurableError(sessionId, Number.isNaN(local) ? 0 : local, timeoutMs);
}
