// The PostgreSQL backend as deployed in practice: a role with only DML rights on tables an admin
// created, a second database on the same server using the same workspace name, a force-unlock that
// must end only the lock's real holder, and a lock session that notices a vanished peer.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresBackend, StateLockLostError, StateSchemaError, type StateEntry } from '../../src/state/index.ts';
import { canConnect } from '../helpers/services.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const tag = randomBytes(4).toString('hex');
const DB2 = `agentspec_t_${tag}`;
const ROLE = `agentspec_dml_${tag}`;
let available = false;

function urlFor(opts: { db?: string; user?: string; workspace: string }): string {
  const u = new URL(DATABASE_URL);
  if (opts.db !== undefined) u.pathname = `/${opts.db}`;
  if (opts.user !== undefined) {
    u.username = opts.user;
    u.password = '';
  }
  u.searchParams.set('workspace', opts.workspace);
  return u.toString();
}

async function client(db?: string): Promise<pg.Client> {
  const u = new URL(DATABASE_URL);
  if (db !== undefined) u.pathname = `/${db}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  return c;
}

async function sql(text: string, params: unknown[] = [], db?: string): Promise<pg.QueryResult> {
  const c = await client(db);
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

function entry(fqn: string): StateEntry {
  return { fqn, hash: `sha256:${fqn}`, status: 'applied', last_applied: '2026-11-27T10:00:00.000Z', adapter: 'process' };
}

function skipWithoutServer(t: TestContext): boolean {
  if (available) return false;
  t.skip(`PostgreSQL is not reachable at ${new URL(DATABASE_URL).host}: set DATABASE_URL or start PostgreSQL (required when CI=true)`);
  return true;
}

describe('PostgreSQL backend hardening', () => {
  before(async () => {
    const u = new URL(DATABASE_URL);
    available = await canConnect(u.hostname, Number(u.port || 5432), 2000);
    if (!available && process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI and is not reachable at ${u.host}`);
    if (!available) return;
    await sql(`CREATE DATABASE ${DB2}`);
    // The admin creates the tables once (a lock cycle as the owner), then hands out DML rights only.
    const owner = new PostgresBackend({ url: urlFor({ db: DB2, workspace: 'setup' }) });
    await owner.lock({ operation: 'setup' });
    await owner.unlock();
    await sql(`CREATE ROLE ${ROLE} LOGIN`);
    await sql(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`, [], DB2);
    await sql(`GRANT SELECT, INSERT, UPDATE, DELETE ON agentspec_state, agentspec_lock TO ${ROLE}`, [], DB2);
  });

  after(async () => {
    if (!available) return;
    await sql(`DROP DATABASE IF EXISTS ${DB2} WITH (FORCE)`);
    await sql(`DROP ROLE IF EXISTS ${ROLE}`);
  });

  test('a role with DML rights only on existing tables can lock, load and save', async (t) => {
    if (skipWithoutServer(t)) return;
    const b = new PostgresBackend({ url: urlFor({ db: DB2, user: ROLE, workspace: `w-${randomUUID()}` }) });
    await b.lock({ operation: 'test', timeoutMs: 5_000 });
    try {
      const s = await b.load({ repair: true });
      const saved = await b.save([entry('a/Agent/x')], s.serial);
      assert.equal(saved.serial, 1);
    } finally {
      await b.unlock();
    }
    assert.equal((await b.load()).entries.length, 1);
  });

  test('the same workspace locked in another database is not reported as this one\'s holder', async (t) => {
    if (skipWithoutServer(t)) return;
    const workspace = `shared-${randomUUID()}`;
    const elsewhere = new PostgresBackend({ url: urlFor({ db: DB2, workspace }) });
    await elsewhere.lock({ operation: 'other database' });
    try {
      const here = new PostgresBackend({ url: urlFor({ workspace }) });
      assert.equal(await here.lockStatus(), null, 'not locked here');
      assert.equal(await here.lockInfo(), null);
    } finally {
      await elsewhere.unlock();
    }
  });

  test('unlock --force terminates only the backend pg_locks shows holding the lock', async (t) => {
    if (skipWithoutServer(t)) return;
    const workspace = `force-${randomUUID()}`;
    const holder = new PostgresBackend({ url: urlFor({ workspace }) });
    const sameNameElsewhere = new PostgresBackend({ url: urlFor({ db: DB2, workspace }) });
    const bystander = await client();
    try {
      const info = await holder.lock({ operation: 'holder' });
      await sameNameElsewhere.lock({ operation: 'other database' });
      const s0 = await holder.load({ repair: true });
      // The lock row's pid is only a hint: make it name an innocent session.
      const pid = (await bystander.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await sql('UPDATE agentspec_lock SET backend_pid = $2 WHERE workspace = $1', [workspace, pid]);

      await new PostgresBackend({ url: urlFor({ workspace }) }).forceUnlock(info.id, { force: true });

      assert.equal((await bystander.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1, 'the bystander session survived');
      const s2 = await sameNameElsewhere.load({ repair: true });
      await sameNameElsewhere.save([entry('b/Agent/y')], s2.serial);
      await assert.rejects(holder.save([entry('a/Agent/x')], s0.serial), StateLockLostError);
    } finally {
      await bystander.end();
      await holder.unlock();
      await sameNameElsewhere.unlock();
    }
  });

  test('a body that is valid JSON of the wrong shape is not replaced by the backup (exit 4)', async (t) => {
    if (skipWithoutServer(t)) return;
    const workspace = `schema-${randomUUID()}`;
    const body = JSON.stringify({ version: '1.0', serial: 5, lineage: 'l', entries: [{ fqn: 'a/Agent/x', hash: 1 }] });
    const backup = JSON.stringify({ version: '1.0', serial: 4, lineage: 'l', entries: [] });
    await sql('INSERT INTO agentspec_state (workspace, serial, lineage, body, backup) VALUES ($1, 5, $2, $3, $4)', [workspace, 'l', body, backup]);
    try {
      const b = new PostgresBackend({ url: urlFor({ workspace }) });
      await b.lock({ operation: 'test' });
      try {
        await assert.rejects(b.load({ repair: true }), (err: unknown) => err instanceof StateSchemaError && err.exitCode === 4 && err.field === 'entries[0].hash');
      } finally {
        await b.unlock();
      }
      const row = await sql('SELECT body FROM agentspec_state WHERE workspace = $1', [workspace]);
      assert.equal(row.rows[0].body, body);
    } finally {
      await sql('DELETE FROM agentspec_state WHERE workspace = $1', [workspace]);
    }
  });

  test('the lock session has TCP keepalive and statement timeouts on both ends', async (t) => {
    if (skipWithoutServer(t)) return;
    const b = new PostgresBackend({ url: urlFor({ workspace: `ka-${randomUUID()}` }) });
    await b.lock({ operation: 'test' });
    try {
      const c = (b as unknown as { lockClient: pg.Client }).lockClient;
      const show = async (name: string): Promise<string> => (await c.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
      assert.equal(await show('tcp_keepalives_idle'), '30');
      assert.equal(await show('tcp_keepalives_interval'), '10');
      assert.equal(await show('tcp_keepalives_count'), '6');
      assert.match(await show('tcp_user_timeout'), /^(120000|2min)$/);
      assert.equal(await show('statement_timeout'), '1min');
    } finally {
      await b.unlock();
    }
  });
});
