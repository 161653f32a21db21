import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AgentspecError, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { VERSION } from '../version.ts';
import {
  StateCorruptedError,
  StateInvalidEntriesError,
  StateLineageMismatchError,
  StateLockLostError,
  StateLockedError,
  StateNotLockedError,
  StateSchemaError,
  StateSerialMismatchError,
  StateUnlockError,
  StateVersionError,
} from './errors.ts';
import { DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_STALE_AFTER_MS, lockHostname, parseLockInfo, whoAmI } from './file-lock.ts';
import { StateFormatError, UnsupportedVersionError, checkEntries, emptyState, parseState, serializeState } from './format.ts';
import { STATE_FORMAT_VERSION, type Backend, type LoadOptions, type LockInfo, type LockOptions, type State, type StateEntry } from './types.ts';

/** First key of every agentspec advisory lock ("agsp"); the second is hashtext(workspace). */
const LOCK_CLASS = 0x61677370;

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS agentspec_state (
  workspace  text PRIMARY KEY,
  serial     bigint NOT NULL,
  lineage    text NOT NULL,
  body       text NOT NULL,
  backup     text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS agentspec_lock (
  workspace   text PRIMARY KEY,
  info        text NOT NULL,
  backend_pid integer NOT NULL
);`;

/** Seconds of silence before TCP keepalive probes start, the gap between probes, and how many may fail. */
const KEEPALIVE_IDLE_S = 30;
const KEEPALIVE_INTERVAL_S = 10;
const KEEPALIVE_COUNT = 6;
/** No single state query takes this long; one that does is stuck on a dead peer or a lock. */
const STATEMENT_TIMEOUT_MS = 60_000;
/**
 * The server's side of the lock session: it frees the advisory lock only once it sees the holder's
 * connection die, so it probes the client too, and gives up on unacknowledged data after two minutes.
 */
const SERVER_SESSION_OPTIONS = [
  `-c tcp_keepalives_idle=${KEEPALIVE_IDLE_S}`,
  `-c tcp_keepalives_interval=${KEEPALIVE_INTERVAL_S}`,
  `-c tcp_keepalives_count=${KEEPALIVE_COUNT}`,
  '-c tcp_user_timeout=120000',
].join(' ');

async function tablesExist(c: pg.Client): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>(
    "SELECT to_regclass('agentspec_state') IS NOT NULL AND to_regclass('agentspec_lock') IS NOT NULL AS ok",
  );
  return r.rows[0]?.ok === true;
}

/** Rows of pg_locks for this workspace's advisory lock in this database (advisory keys are per database). */
const HOLDERS_SQL =
  "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted" +
  ' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())' +
  ' AND classid = $1::bigint::oid AND objid = (hashtext($2)::bigint & 4294967295)::oid AND objsubid = 2';

export function isPostgresUrl(s: string | undefined): s is string {
  return s !== undefined && /^postgres(ql)?:\/\//.test(s);
}

/** Split `postgres://…/db?workspace=name` into the connection string and the workspace (default "default"). */
export function parsePostgresLocation(url: string): { connectionString: string; workspace: string; display: string } {
  const u = new URL(url);
  const workspace = u.searchParams.get('workspace') ?? 'default';
  u.searchParams.delete('workspace');
  const connectionString = u.toString();
  const shown = new URL(connectionString);
  shown.password = shown.password === '' ? '' : '***';
  return { connectionString, workspace, display: `${shown.toString()}#${workspace}` };
}

export class StateBackendError extends AgentspecError {
  constructor(location: string, cause: unknown) {
    super('E_STATE_BACKEND', `State backend ${location} failed: ${errorMessage(cause)}`, { cause });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function ageMs(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : Date.now() - t;
}

type Row = { serial: string; lineage: string; body: string; backup: string | null };

/**
 * State in PostgreSQL (DESIGN.md "Backends"): one row per workspace with the state's exact bytes and
 * the previous bytes as backup; the lock is a session-level advisory lock (freed by the server when the
 * holder's connection dies) plus a row with the lock info; a save is one transaction that checks the
 * lock row and the serial.
 */
export class PostgresBackend implements Backend {
  readonly location: string;
  private readonly connectionString: string;
  private readonly workspace: string;
  private lockClient: pg.Client | null = null;
  private held: LockInfo | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private heartbeatDone: Promise<void> = Promise.resolve();
  private acquiredAt = 0;
  private known: { lineage: string } | null = null;
  private schemaReady = false;

  constructor(opts: { url: string }) {
    const p = parsePostgresLocation(opts.url);
    this.connectionString = p.connectionString;
    this.workspace = p.workspace;
    this.location = p.display;
  }

  private async connect(): Promise<pg.Client> {
    // Loaded on first use so that the local backend (the default) never pays for the driver.
    const { default: driver } = await import('pg');
    const c = new driver.Client({
      connectionString: this.connectionString,
      // The lock lives as long as this session: both ends must notice a vanished peer in minutes
      // (the default is the kernel's two hours), and no statement may hang on forever.
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_IDLE_S * 1000,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      options: SERVER_SESSION_OPTIONS,
    });
    // A dropped connection must surface on the next query, not crash the process.
    c.on('error', (err) => logger('state').warn({ path: this.location, err }, 'state database connection error'));
    try {
      await c.connect();
      if (!this.schemaReady) {
        // Only create what is missing: a role allowed nothing but DML on existing tables must work.
        if (!(await tablesExist(c))) {
          await c.query('BEGIN');
          await c.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_CLASS]);
          await c.query(SCHEMA_SQL);
          await c.query('COMMIT');
        }
        this.schemaReady = true;
      }
      return c;
    } catch (err) {
      await c.end().catch((e: unknown) => logger('state').debug({ err: e }, 'closing a failed connection'));
      throw new StateBackendError(this.location, err);
    }
  }

  /** Run `fn` on the lock session when held, else on a short-lived connection. */
  private async withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    if (this.lockClient !== null) return fn(this.lockClient);
    const c = await this.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }

  private parseBody(text: string | null, which: 'body' | 'backup'): { ok: true; state: State; legacy: boolean } | { ok: false; error: Error } | null {
    if (text === null) return null;
    try {
      const r = parseState(text);
      return { ok: true, ...r };
    } catch (err) {
      if (err instanceof UnsupportedVersionError) throw new StateVersionError(this.location, err.version);
      // As with the file: valid JSON of the wrong shape is never swapped for the older backup.
      if (err instanceof StateFormatError && err.kind === 'schema' && which === 'body') {
        throw new StateSchemaError({ path: this.location, backupPath: `${this.location} (backup column)`, field: err.field, detail: err.message });
      }
      if (err instanceof StateFormatError) return { ok: false, error: err };
      throw err;
    }
  }

  async load(opts: LoadOptions = {}): Promise<State> {
    const repair = opts.repair === true;
    if (repair && this.lockClient === null) throw new StateNotLockedError(this.location, 'load({ repair: true })');
    const log = logger('state');
    return this.withClient(async (c) => {
      const r = await c.query<Row>('SELECT serial, lineage, body, backup FROM agentspec_state WHERE workspace = $1', [this.workspace]);
      const row = r.rows[0];
      if (row === undefined) {
        const fresh = emptyState();
        this.known = { lineage: fresh.lineage };
        return fresh;
      }
      const primary = this.parseBody(row.body, 'body');
      if (primary?.ok === true) {
        this.known = { lineage: primary.state.lineage };
        return primary.state;
      }
      const primaryError = primary === null ? new Error('empty state') : primary.error;
      log.error({ path: this.location, error: primaryError.message }, 'state corrupted');
      const backup = this.parseBody(row.backup, 'backup');
      if (backup?.ok !== true) {
        log.error({ path: this.location, backup_path: `${this.location} (backup)`, error: backup === null ? 'backup missing' : backup.error.message }, 'backup also corrupted');
        throw new StateCorruptedError({
          path: this.location,
          backupPath: `${this.location} (backup column)`,
          backupUsed: backup !== null,
          cause: primaryError,
          backupCause: backup === null ? undefined : backup.error,
        });
      }
      log.error({ path: this.location, backup_path: `${this.location} (backup)` }, 'backup fallback');
      if (repair) {
        await c.query('UPDATE agentspec_state SET body = backup, serial = $2, lineage = $3, updated_at = now() WHERE workspace = $1', [
          this.workspace,
          backup.state.serial,
          backup.state.lineage,
        ]);
        log.warn({ path: this.location, backup_path: `${this.location} (backup)`, serial: backup.state.serial }, 'state restored from backup');
      }
      this.known = { lineage: backup.state.lineage };
      return backup.state;
    });
  }

  async save(entries: StateEntry[], baseSerial: number): Promise<State> {
    const c = this.lockClient;
    const held = this.held;
    if (c === null || held === null) throw new StateNotLockedError(this.location, 'save()');
    const checked = checkEntries(entries);
    if (!checked.ok) throw new StateInvalidEntriesError(this.location, checked.error);
    try {
      await c.query('BEGIN');
    } catch (err) {
      throw new StateLockLostError(this.location, held.id, `the lock session is gone (${errorMessage(err)})`);
    }
    try {
      const lockRow = await c.query<{ info: string }>('SELECT info FROM agentspec_lock WHERE workspace = $1 FOR UPDATE', [this.workspace]);
      const owner = parseLockInfo(lockRow.rows[0]?.info ?? '');
      if (owner?.id !== held.id) {
        throw new StateLockLostError(this.location, held.id, `the lock now belongs to ${owner === null ? 'nobody' : `lock ${owner.id} (pid ${owner.pid} on ${owner.hostname})`}`);
      }
      const cur = await c.query<Row>('SELECT serial, lineage, body, backup FROM agentspec_state WHERE workspace = $1 FOR UPDATE', [this.workspace]);
      const row = cur.rows[0];
      let lineage = this.known?.lineage ?? randomUUID();
      if (row !== undefined) {
        if (Number(row.serial) !== baseSerial) throw new StateSerialMismatchError(this.location, baseSerial, Number(row.serial));
        if (this.known !== null && row.lineage !== this.known.lineage) throw new StateLineageMismatchError(this.location, this.known.lineage, row.lineage);
        lineage = row.lineage;
      }
      const next: State = { version: STATE_FORMAT_VERSION, serial: baseSerial + 1, lineage, entries: checked.sorted };
      await c.query(
        `INSERT INTO agentspec_state (workspace, serial, lineage, body, backup) VALUES ($1, $2, $3, $4, NULL)
         ON CONFLICT (workspace) DO UPDATE SET serial = $2, lineage = $3, body = $4, backup = agentspec_state.body, updated_at = now()`,
        [this.workspace, next.serial, next.lineage, serializeState(next)],
      );
      await c.query('COMMIT');
      this.known = { lineage };
      return next;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: unknown) => logger('state').debug({ err: e }, 'rollback after a failed save'));
      if (err instanceof AgentspecError) throw err;
      throw new StateLockLostError(this.location, held.id, `the save failed on the lock session (${errorMessage(err)}); nothing was committed`);
    }
  }

  async lock(opts: LockOptions): Promise<LockInfo> {
    if (this.lockClient !== null) throw new AgentspecError('E_STATE_ALREADY_LOCKED', `This process already holds the lock of ${this.location}.`);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    const staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    const log = logger('state');
    const started = Date.now();
    const c = await this.connect();
    let attempt = 0;
    let waitLogged = false;
    try {
      for (;;) {
        opts.signal?.throwIfAborted();
        const got = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, this.workspace]);
        const rowInfo = await c.query<{ info: string }>('SELECT info FROM agentspec_lock WHERE workspace = $1', [this.workspace]);
        const previous = parseLockInfo(rowInfo.rows[0]?.info ?? '');
        if (got.rows[0]?.ok === true) {
          // The server frees an advisory lock when its session ends: a row left behind names a dead holder.
          if (previous !== null) {
            log.warn({ path: this.location, stale_pid: previous.pid, stale_age: ageMs(previous.heartbeat), stale_hostname: previous.hostname }, 'stale lock broken');
          }
          const now = new Date().toISOString();
          const info: LockInfo = { id: randomUUID(), pid: process.pid, hostname: lockHostname(), created: now, heartbeat: now, operation: opts.operation, who: whoAmI(), version: VERSION };
          await c.query(
            `INSERT INTO agentspec_lock (workspace, info, backend_pid) VALUES ($1, $2, pg_backend_pid())
             ON CONFLICT (workspace) DO UPDATE SET info = $2, backend_pid = pg_backend_pid()`,
            [this.workspace, JSON.stringify(info)],
          );
          this.lockClient = c;
          this.held = info;
          this.acquiredAt = Date.now();
          this.heartbeat = setInterval(() => this.beat(), Math.max(Math.floor(staleAfterMs / 3), 10));
          this.heartbeat.unref();
          log.info({ path: this.location }, 'lock acquired');
          return { ...info };
        }
        if (!waitLogged) {
          waitLogged = true;
          log.info({ path: this.location, holder_pid: previous?.pid, holder_hostname: previous?.hostname, holder_since: previous?.created }, 'lock wait started');
        }
        const now = Date.now();
        if (now - started >= timeoutMs) {
          log.error({ path: this.location, holder_pid: previous?.pid, wait_ms: now - started }, 'lock timeout');
          throw new StateLockedError(this.location, previous, now - started);
        }
        const backoff = Math.min(50, 2 * 2 ** attempt++);
        await sleep(Math.min(backoff / 2 + (Math.random() * backoff) / 2, started + timeoutMs - now), opts.signal);
      }
    } catch (err) {
      if (this.lockClient !== c) await c.end().catch((e: unknown) => log.debug({ err: e }, 'closing the lock session'));
      if (err instanceof AgentspecError) throw err;
      throw new StateBackendError(this.location, err);
    }
  }

  private beat(): void {
    const c = this.lockClient;
    const held = this.held;
    if (c === null || held === null) return;
    this.heartbeatDone = this.heartbeatDone
      .then(async () => {
        held.heartbeat = new Date().toISOString();
        await c.query('UPDATE agentspec_lock SET info = $3 WHERE workspace = $1 AND backend_pid = pg_backend_pid() AND info::jsonb->>\'id\' = $2', [
          this.workspace,
          held.id,
          JSON.stringify(held),
        ]);
      })
      .catch((err: unknown) => logger('state').warn({ path: this.location, err }, 'lock heartbeat failed'));
  }

  async unlock(): Promise<void> {
    const c = this.lockClient;
    const held = this.held;
    if (c === null || held === null) return;
    this.lockClient = null;
    this.held = null;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    await this.heartbeatDone;
    const log = logger('state');
    try {
      await c.query("DELETE FROM agentspec_lock WHERE workspace = $1 AND info::jsonb->>'id' = $2", [this.workspace, held.id]);
      await c.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, this.workspace]);
    } catch (err) {
      log.warn({ path: this.location, err }, 'could not release the lock cleanly (closing the session releases it)');
    }
    try {
      await c.end();
    } catch (err) {
      log.warn({ path: this.location, err }, 'could not close the lock session');
    }
    log.info({ path: this.location, held_ms: Date.now() - this.acquiredAt }, 'lock released');
  }

  /** Holder row plus whether a live session holds the advisory lock. */
  private async status(c: pg.Client): Promise<{ info: LockInfo | null; holderPids: number[]; held: boolean }> {
    const r = await c.query<{ info: string }>('SELECT info FROM agentspec_lock WHERE workspace = $1', [this.workspace]);
    const row = r.rows[0];
    // The server's own view of who holds the lock: the pid in the lock row may be stale or reused.
    const live = await c.query<{ pid: number }>(HOLDERS_SQL, [LOCK_CLASS, this.workspace]);
    const holderPids = live.rows.map((x) => x.pid);
    return { info: parseLockInfo(row?.info ?? ''), holderPids, held: holderPids.length > 0 };
  }

  async lockInfo(): Promise<LockInfo | null> {
    return this.withClient(async (c) => {
      const s = await this.status(c);
      return s.held ? s.info : null;
    });
  }

  async lockStatus(): Promise<{ info: LockInfo | null; held: boolean } | null> {
    return this.withClient(async (c) => {
      const s = await this.status(c);
      return s.info === null && !s.held ? null : { info: s.info, held: s.held };
    });
  }

  async forceUnlock(id: string, opts: { force?: boolean } = {}): Promise<void> {
    const c = await this.connect();
    try {
      const s = await this.status(c);
      if (s.info?.id !== id) {
        throw new StateUnlockError(this.location, `Lock id ${id} is not the current lock of ${this.location}${s.info === null ? '' : ` (that is ${s.info.id})`}.`);
      }
      if (s.held && opts.force !== true) {
        throw new StateUnlockError(
          this.location,
          `Lock ${id} is held by a live process (pid ${s.info.pid} on ${s.info.hostname}). Wait for it to finish, or pass --force to break it (its session is terminated and its next save fails).`,
        );
      }
      // Ending the holder's session frees its advisory lock; its next save then fails on the dead session.
      for (const pid of s.holderPids) await c.query('SELECT pg_terminate_backend($1)', [pid]);
      await c.query("DELETE FROM agentspec_lock WHERE workspace = $1 AND info::jsonb->>'id' = $2", [this.workspace, id]);
      logger('state').warn({ path: this.location, lock_id: id, holder_pid: s.info.pid, holder_alive: s.held, terminated_backends: s.holderPids }, 'lock force-unlocked');
    } finally {
      await c.end();
    }
  }

  async close(): Promise<void> {
    await this.unlock();
  }
}
