// Session store benchmarks against a private Redis (or REDIS_URL):
//  1. append latency at 10, 10,000 and 1,000,000 messages of history (ours, and a naive
//     read-modify-write store beside it where that is feasible);
//  2. messages lost under 100 concurrent writers: ours vs the naive store;
//  3. our appends/second against `redis-benchmark -t rpush` on the same server (the ceiling),
//     without and with pipelining (-P 16);
//  4. one session message (begin turn with lease + append with fence and idempotency record)
//     against the previous path: the store of an earlier commit (BENCH_BASELINE_REF, default
//     b3752dc, the last one before leases and seq numbers), built from git into bench/.baseline-*, used as the previous runtime did (get, load,
//     append): latency, and messages/second over 100 different sessions;
//  5. the whole turn (load, echo model, append) at 10, 1,000 and 10,000 messages of history, ours
//     and the previous path;
//  6. the store's own CPU per turn, 16 turns at a time over 1,000 sessions (BENCH_STORE_TURNS
//     each round, 40,000): beginTurn and append through the store, beside the same two scripts
//     with the same keys and arguments sent bare through the Redis client.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { randomBytes } from 'node:crypto';
import { EchoProvider } from '../src/runtime/providers/echo.ts';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beginTurn, RedisSessionStore, type Message } from '../src/session/index.ts';
import { APPEND, BEGIN_TURN } from '../src/session/redis-scripts.ts';
import { bareTurn, type BareSession } from './_bare-turn.ts';
import { inParallel } from './_in-parallel.ts';
import { startRedisServer, type RedisServer } from '../test/helpers/services.ts';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const HISTORIES = [10, 10_000, 1_000_000];
// The naive store copies the whole history twice per append; beyond this it takes minutes.
const NAIVE_MAX_HISTORY = 10_000;
const WRITERS = 100;
const APPENDS_PER_WRITER = 10;
const PREFIX = `bench-${process.pid}`;

const newClient = (url: string) => createClient({ url });
type Raw = ReturnType<typeof newClient>;

const msg = (content: string): Message => ({ role: 'user', content });

/** The pattern this project replaces: the history as one JSON array, read, extended and written back. */
class NaiveStore {
  constructor(private readonly client: Raw) {}
  key(id: string): string {
    return `${PREFIX}:naive:${id}`;
  }
  async append(id: string, messages: Message[]): Promise<void> {
    const current = await this.client.get(this.key(id));
    const history = current === null ? [] : (JSON.parse(current) as Message[]);
    history.push(...messages);
    await this.client.set(this.key(id), JSON.stringify(history));
  }
  async count(id: string): Promise<number> {
    const current = await this.client.get(this.key(id));
    return current === null ? 0 : (JSON.parse(current) as unknown[]).length;
  }
}

/** What a session message needs of a store, in the previous code and in ours alike. */
interface PreviousStore {
  create(agent: string): Promise<{ id: string }>;
  get(id: string): Promise<unknown>;
  loadMessages(id: string): Promise<{ messages: Message[] }>;
  appendMessages(id: string, messages: Message[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * The previous code path, built from the previous commit: `git archive` of its src/ into a folder
 * beside this file (so its imports resolve against this checkout's node_modules), then its
 * RedisSessionStore, used the way the previous runtime served a session message: get (the
 * existence and owner check), loadMessages, appendMessages. BENCH_BASELINE_REF picks the commit.
 */
async function openPreviousStore(url: string): Promise<{ store: PreviousStore; ref: string; cleanup: () => void }> {
  // The last commit before one writer per session: its store is the path this one replaced.
  const ref = process.env.BENCH_BASELINE_REF ?? 'b3752dc';
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(path.join(root, 'bench', '.baseline-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const tar = spawnSync('git', ['-C', root, 'archive', '--format=tar', ref, 'src'], { maxBuffer: 256 * 1024 * 1024 });
  const untar = tar.status === 0 ? spawnSync('tar', ['-x', '-C', dir], { input: tar.stdout }) : tar;
  if (untar.status !== 0) {
    cleanup();
    throw new Error(`cannot build the baseline from ${ref}: ${String(tar.stderr)} ${String(untar.stderr)}`);
  }
  const mod = (await import(pathToFileURL(path.join(dir, 'src', 'session', 'index.ts')).href)) as {
    RedisSessionStore: { open(o: { url: string; keyPrefix: string; ttlSeconds: number }): Promise<PreviousStore> };
  };
  const store = await mod.RedisSessionStore.open({ url, keyPrefix: `${PREFIX}-prev`, ttlSeconds: 3600 });
  const sha = spawnSync('git', ['-C', root, 'rev-parse', '--short', ref], { encoding: 'utf8' }).stdout.trim();
  return { store, ref: `${ref} (${sha})`, cleanup };
}

const echo = new EchoProvider();

/** One model call of the echo provider on `history` plus the new message. */
async function echoAnswer(history: Message[], text: string): Promise<Message[]> {
  const user: Message = { role: 'user', content: text };
  const r = await echo.complete({ model: 'echo', system: 'bench', messages: [...history, user], tools: [], maxTokens: 100, signal: new AbortController().signal });
  return [user, { role: 'assistant', content: r.text }];
}

/**
 * A session message as the runtime now serves it: beginTurn (lease, session and page in one
 * script, with the waiting loop around it), the echo model, the append with fence, lease release
 * and idempotency record (the second script).
 */
async function oursTurn(store: RedisSessionStore, id: string, text: string): Promise<void> {
  const key = randomBytes(12).toString('base64url');
  const start = await beginTurn(store, id, { mode: 'enqueue', leaseTtlMs: 30_000, waitMs: 30_000, idempotency: { key, requestHash: 'h' } });
  if (start.kind !== 'turn') throw new Error('turn not acquired');
  const messages = await echoAnswer(start.page.messages, text);
  await store.appendMessages(id, messages, start.lease.appendOptions({ key, requestHash: 'h', response: `{"output":${JSON.stringify(messages[1]!.content)}}` }));
  start.lease.finished();
}

/** A session message as the previous runtime served it: get, load, append (three round trips). */
async function previousTurn(prev: PreviousStore, id: string, text: string): Promise<void> {
  await prev.get(id);
  const { messages } = await prev.loadMessages(id);
  await prev.appendMessages(id, await echoAnswer(messages, text));
}

/** Sections 4 and 5: the new session-message path against the previous one, in the same run. */
async function sessionMessages(store: RedisSessionStore, raw: Raw, url: string): Promise<void> {
  const { store: prev, ref, cleanup } = await openPreviousStore(url);
  try {
    await compareSessionMessages(store, prev, ref, raw);
  } finally {
    await prev.close();
    cleanup();
  }
}

async function compareSessionMessages(store: RedisSessionStore, prev: PreviousStore, ref: string, raw: Raw): Promise<void> {
  const listOf = (prefix: string, id: string): string => `${prefix}:session:{${id}}:messages`;
  console.log(`\n4. one session message (load + echo + append), median of ${SAMPLES}, history starting at 10 messages; previous path: the store of ${ref}`);
  const [oursId, prevId] = [(await store.create('bench')).id, (await prev.create('bench')).id];
  await fillList(raw, listOf(PREFIX, oursId), 10);
  await fillList(raw, listOf(`${PREFIX}-prev`, prevId), 10);
  const [oursMs, prevMs] = await timeInterleaved(SAMPLES, [(i) => oursTurn(store, oursId, `q${i}`), (i) => previousTurn(prev, prevId, `q${i}`)]);
  console.log(`   ours (lease + fence + idempotency record, 2 round trips): ${oursMs!.toFixed(3)} ms`);
  console.log(`   previous path (3 round trips): ${prevMs!.toFixed(3)} ms`);
  console.log(`   ours / previous: ${(oursMs! / prevMs!).toFixed(2)}x (aim <= 1.3x)`);

  const sessions = 100;
  const perSession = Math.max(5, Math.floor(SAMPLES / 10));
  const spread = async (owner: PreviousStore | RedisSessionStore, turn: (id: string, i: number) => Promise<void>): Promise<number> => {
    const ids: string[] = [];
    for (let k = 0; k < sessions; k++) ids.push((await owner.create('bench')).id);
    const t0 = performance.now();
    await Promise.all(ids.map(async (id) => {
      for (let i = 0; i < perSession; i++) await turn(id, i);
    }));
    return (sessions * perSession) / ((performance.now() - t0) / 1000);
  };
  // Alternated rounds, so load from the rest of the machine falls on both alike.
  const oursRates: number[] = [];
  const prevRates: number[] = [];
  for (let round = 0; round < 3; round++) {
    oursRates.push(await spread(store, (id, i) => oursTurn(store, id, `r${i}`)));
    prevRates.push(await spread(prev, (id, i) => previousTurn(prev, id, `r${i}`)));
  }
  const [ours, previous] = [median(oursRates), median(prevRates)];
  console.log(`   ${sessions} sessions x ${perSession} messages, all sessions at once (median of 3 rounds):`);
  console.log(`   ours: ${ours.toFixed(0)} messages/s   previous path: ${previous.toFixed(0)} messages/s   ours / previous: ${(ours / previous).toFixed(2)} (aim >= 0.90)`);

  console.log('\n5. the whole turn (load + echo model + append) by history length, median');
  console.log('   history     ours (ms)   previous (ms)   ours/previous');
  for (const history of [10, 1000, 10_000]) {
    const [o, p] = [(await store.create('bench')).id, (await prev.create('bench')).id];
    await fillList(raw, listOf(PREFIX, o), history);
    await fillList(raw, listOf(`${PREFIX}-prev`, p), history);
    const n = history >= 10_000 ? Math.min(SAMPLES, 30) : Math.min(SAMPLES, 100);
    const [om, pm] = await timeInterleaved(n, [(i) => oursTurn(store, o, `w${i}`), (i) => previousTurn(prev, p, `w${i}`)]);
    console.log(`   ${String(history).padStart(7)}   ${om!.toFixed(3).padStart(11)}   ${pm!.toFixed(3).padStart(13)}   ${(om! / pm!).toFixed(2)}x`);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Median latency of each fn, sampled round-robin (one call of each per round) so that load from
 * anything else on the machine falls on all of them alike.
 */
async function timeInterleaved(n: number, fns: ((i: number) => Promise<unknown>)[]): Promise<number[]> {
  for (let i = 0; i < 20; i++) for (const fn of fns) await fn(-1 - i);
  const times: number[][] = fns.map(() => []);
  for (let i = 0; i < n; i++) {
    for (const [k, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn(i);
      times[k]!.push(performance.now() - t0);
    }
  }
  return times.map(median);
}

/** Grows a list to `target` elements quickly: big RPUSH batches, many in flight. */
async function fillList(client: Raw, key: string, target: number): Promise<void> {
  const element = JSON.stringify(msg('filler message of a typical short length'));
  const batch = Array.from({ length: 1000 }, () => element);
  let have = await client.lLen(key);
  while (have < target) {
    const rounds = Math.min(50, Math.ceil((target - have) / batch.length));
    await Promise.all(Array.from({ length: rounds }, () => client.rPush(key, batch)));
    have = await client.lLen(key);
  }
}

async function latency(store: RedisSessionStore, naive: NaiveStore, raw: Raw): Promise<void> {
  console.log(`\n1. append latency, median of ${SAMPLES} single-message appends (sessions sampled in turn)`);
  const ids: string[] = [];
  for (const history of HISTORIES) {
    const { id } = await store.create('bench');
    await fillList(raw, `${PREFIX}:session:{${id}}:messages`, history);
    ids.push(id);
  }
  const ours = await timeInterleaved(SAMPLES, ids.map((id) => (i: number) => store.appendMessages(id, [msg(`sample ${i}`)])));
  const naiveHistories = HISTORIES.filter((h) => h <= NAIVE_MAX_HISTORY);
  for (const h of naiveHistories) {
    await raw.set(naive.key(`h${h}`), JSON.stringify(Array.from({ length: h }, () => msg('filler message of a typical short length'))));
  }
  const naiveMs = await timeInterleaved(Math.min(SAMPLES, 50), naiveHistories.map((h) => (i: number) => naive.append(`h${h}`, [msg(`sample ${i}`)])));
  console.log('   history     ours (ms)   naive GET+SET (ms)');
  HISTORIES.forEach((history, k) => {
    const n = naiveMs[naiveHistories.indexOf(history)];
    const naiveText = n === undefined ? 'not run (copies the whole history twice per append)' : `${n.toFixed(3)}  (naive/ours ${(n / ours[k]!).toFixed(1)}x)`;
    console.log(`   ${String(history).padStart(9)}   ${ours[k]!.toFixed(3).padStart(9)}   ${naiveText}`);
  });
  const ratio = ours.at(-1)! / ours[0]!;
  console.log(`   ours at ${HISTORIES.at(-1)} / ours at ${HISTORIES[0]}: ${ratio.toFixed(2)}x (target < 1.5x)`);
  for (const id of ids) await store.delete(id);
}

async function lostUnderConcurrency(store: RedisSessionStore, naive: NaiveStore): Promise<void> {
  console.log(`\n2. ${WRITERS} concurrent writers x ${APPENDS_PER_WRITER} appends each`);
  const expected = WRITERS * APPENDS_PER_WRITER;
  const { id } = await store.create('bench');
  const naiveId = 'concurrent';
  const run = (append: (w: number, k: number) => Promise<unknown>): Promise<unknown> =>
    Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let k = 0; k < APPENDS_PER_WRITER; k++) await append(w, k);
      }),
    );
  await run((w, k) => store.appendMessages(id, [msg(`w${w} k${k}`)]));
  await run((w, k) => naive.append(naiveId, [msg(`w${w} k${k}`)]));
  const ours = (await store.loadMessages(id)).total;
  const theirs = await naive.count(naiveId);
  console.log(`   ours:  ${ours}/${expected} stored, ${expected - ours} lost`);
  console.log(`   naive: ${theirs}/${expected} stored, ${expected - theirs} lost`);
  await store.delete(id);
}

/** Calls per second of `fn` with 100 callers in flight. */
async function rate(total: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await inParallel(total, 100, fn);
  return total / ((performance.now() - t0) / 1000);
}

async function throughput(store: RedisSessionStore, raw: Raw, server: { host: string; port: number }): Promise<void> {
  console.log('\n3. appends/second, 100 concurrent writers, one message per append');
  const { id } = await store.create('bench');
  const oursPerSec = await rate(20_000, (i) => store.appendMessages(id, [msg(`t${i}`)]));
  // The same client library doing nothing but RPUSH: what Node + node-redis allow on this machine.
  const plainKey = `${PREFIX}:plain-rpush`;
  const plainPerSec = await rate(20_000, (i) => raw.rPush(plainKey, JSON.stringify(msg(`t${i}`))));
  console.log(`   ours: ${oursPerSec.toFixed(0)} appends/s (each: one script: HGET agent, LLEN, RPUSH, HSET, EXPIREs, ZADD XX)`);
  console.log(`   plain RPUSH through node-redis: ${plainPerSec.toFixed(0)}/s; ours / that: ${(oursPerSec / plainPerSec).toFixed(2)}`);
  await store.delete(id);
  await raw.del(plainKey);
  const which = spawnSync('sh', ['-c', 'command -v redis-benchmark'], { encoding: 'utf8' });
  if (which.status !== 0) {
    console.log('   redis-benchmark is not installed: no ceiling to compare with');
    return;
  }
  for (const pipeline of [1, 16]) {
    const r = spawnSync('redis-benchmark', ['-h', server.host, '-p', String(server.port), '-t', 'rpush', '-n', '100000', '-P', String(pipeline), '-q'], { encoding: 'utf8' });
    const m = /RPUSH:\s*([\d.]+) requests per second/.exec(`${r.stdout}\n${r.stderr}`);
    if (m === null) {
      console.log(`   redis-benchmark gave no figure (exit ${String(r.status)}): ${r.stdout.trim()} ${r.stderr.trim()}`);
      continue;
    }
    const ceiling = Number(m[1]);
    console.log(`   redis-benchmark -t rpush -n 100000 -P ${pipeline} (50 clients): ${ceiling.toFixed(0)} RPUSH/s; ours / that: ${(oursPerSec / ceiling).toFixed(2)}`);
  }
}

const STORE_TURNS = Number(process.env.BENCH_STORE_TURNS ?? 40_000);

/**
 * Section 6: what the store adds to a turn's CPU in this process over its two scripts. The bare
 * turns are the floor server's (_bare-turn.ts), with the keys a store of another prefix names.
 */
async function storeOverhead(url: string): Promise<void> {
  const sessions = 1000;
  const concurrency = 16;
  // The compiled store, as `agentspec run` serves it, when there is a build (`npm run build`):
  // tsx's modules cost more. Otherwise the one from src/, through tsx.
  const compiled = fileURLToPath(new URL('../dist/session/index.js', import.meta.url));
  const built = existsSync(compiled);
  const session = built ? ((await import(pathToFileURL(compiled).href)) as typeof import('../src/session/index.ts')) : { RedisSessionStore, beginTurn };
  console.log(`\n6. CPU per turn in this process, ${concurrency} turns at a time over ${sessions} sessions, ${STORE_TURNS} turns a round (median of 3 rounds, alternated); the store from ${built ? 'dist/ (compiled)' : 'src/ through tsx (no build: npm run build)'}`);
  const ours = await session.RedisSessionStore.open({ url, keyPrefix: `${PREFIX}-own`, ttlSeconds: 3600 });
  const naming = await RedisSessionStore.open({ url, keyPrefix: `${PREFIX}-bare`, ttlSeconds: 3600 });
  const bare = createClient({ url, disableOfflineQueue: true, commandOptions: { timeout: 0 } });
  await bare.connect();
  try {
    for (const script of [APPEND, BEGIN_TURN]) await bare.sendCommand(['SCRIPT', 'LOAD', script.source]);
    const question = 'hello there';
    const answer = (total: number): string => `echo: ${question} (messages: ${total + 1})`;
    const ownIds: string[] = [];
    const bareSessions: BareSession[] = [];
    for (let i = 0; i < sessions; i++) {
      ownIds.push((await ours.create('bench')).id);
      const { id, created_at } = await naming.create('bench');
      const keys = [naming.metaKey(id), naming.messagesKey(id), naming.leaseKey(id), naming.queueKey(id), naming.waitersKey(id), naming.idempotencyKey(id)];
      bareSessions.push({ id, keys, indexKey: naming.indexKey('bench'), held: { created: created_at, length: 0 } });
    }
    const ownTurn = async (i: number): Promise<void> => {
      const id = ownIds[i % sessions]!;
      const start = await session.beginTurn(ours, id, { mode: 'enqueue', range: { tail: 100 }, leaseTtlMs: 30_000, waitMs: 30_000 });
      if (start.kind !== 'turn') throw new Error('turn not acquired');
      try {
        await ours.appendMessages(id, [msg(question), { role: 'assistant', content: answer(start.page.total) }], start.lease.appendOptions());
      } finally {
        start.lease.finished();
      }
    };
    const bareOne = async (i: number): Promise<void> => {
      const turn = await bareTurn(bare, bareSessions[i % sessions]!, question);
      if (turn.status !== 'ok') throw new Error(`turn not stored: ${turn.reply}`);
    };
    const round = async (turn: (i: number) => Promise<void>, n: number): Promise<number> => {
      const before = process.cpuUsage();
      await inParallel(n, concurrency, turn);
      const used = process.cpuUsage(before);
      return (used.user + used.system) / n;
    };
    await round(ownTurn, STORE_TURNS / 8);
    await round(bareOne, STORE_TURNS / 8);
    const own: number[] = [];
    const bareCpu: number[] = [];
    for (let r = 0; r < 3; r++) {
      own.push(await round(ownTurn, STORE_TURNS));
      bareCpu.push(await round(bareOne, STORE_TURNS));
    }
    const [o, b] = [median(own), median(bareCpu)];
    console.log(`   the store: ${o.toFixed(1)} µs/turn   the two scripts bare: ${b.toFixed(1)} µs/turn   store / bare: ${(o / b).toFixed(2)}x, ${(o - b).toFixed(1)} µs more per turn`);
  } finally {
    await Promise.all([ours.close(), naming.close(), bare.close()]);
  }
}

async function main(): Promise<void> {
  let server: RedisServer | undefined;
  let url = process.env.REDIS_URL;
  if (url === undefined) {
    server = await startRedisServer();
    url = server.url;
  }
  const u = new URL(url);
  console.log(`redis at ${u.host}${server === undefined ? ' (REDIS_URL)' : ' (private server)'}`);
  const store = await RedisSessionStore.open({ url, keyPrefix: PREFIX, ttlSeconds: 3600 });
  const raw = newClient(url);
  await raw.connect();
  try {
    await latency(store, new NaiveStore(raw), raw);
    await lostUnderConcurrency(store, new NaiveStore(raw));
    await throughput(store, raw, { host: u.hostname, port: Number(u.port || 6379) });
    await sessionMessages(store, raw, url);
    await storeOverhead(url);
  } finally {
    await store.close();
    // Only matters on a shared REDIS_URL server; a private one goes away with its data. The
    // stores of sections 4 and 6 have prefixes of their own, `${PREFIX}-...`.
    for (const pattern of [`${PREFIX}:*`, `${PREFIX}-*`]) {
      let cursor = '0';
      do {
        const [next, keys] = (await raw.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]];
        cursor = next;
        if (keys.length > 0) await raw.del(keys);
      } while (cursor !== '0');
    }
    await raw.close();
    await server?.stop();
  }
}

await main();
