// Session store benchmarks against a private Redis (or REDIS_URL):
//  1. append latency at 10, 10,000 and 1,000,000 messages of history (ours, and a naive
//     read-modify-write store beside it where that is feasible);
//  2. messages lost under 100 concurrent writers: ours vs the naive store;
//  3. our appends/second against `redis-benchmark -t rpush` on the same server (the ceiling).
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { RedisSessionStore, type Message } from '../src/session/index.ts';
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
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next < total) await fn(next++);
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

async function throughput(store: RedisSessionStore, raw: Raw, server: { host: string; port: number }): Promise<void> {
  console.log('\n3. appends/second, 100 concurrent writers, one message per append');
  const { id } = await store.create('bench');
  const oursPerSec = await rate(20_000, (i) => store.appendMessages(id, [msg(`t${i}`)]));
  // The same client library doing nothing but RPUSH: what Node + node-redis allow on this machine.
  const plainKey = `${PREFIX}:plain-rpush`;
  const plainPerSec = await rate(20_000, (i) => raw.rPush(plainKey, JSON.stringify(msg(`t${i}`))));
  console.log(`   ours: ${oursPerSec.toFixed(0)} appends/s (each: one MULTI/EXEC of HGET, RPUSH, HSET, 2x EXPIRE, ZADD XX)`);
  console.log(`   plain RPUSH through node-redis: ${plainPerSec.toFixed(0)}/s; ours / that: ${(oursPerSec / plainPerSec).toFixed(2)}`);
  await store.delete(id);
  await raw.del(plainKey);
  const which = spawnSync('sh', ['-c', 'command -v redis-benchmark'], { encoding: 'utf8' });
  if (which.status !== 0) {
    console.log('   redis-benchmark is not installed: no ceiling to compare with');
    return;
  }
  const r = spawnSync('redis-benchmark', ['-h', server.host, '-p', String(server.port), '-t', 'rpush', '-n', '100000', '-q'], { encoding: 'utf8' });
  const m = /RPUSH:\s*([\d.]+) requests per second/.exec(`${r.stdout}\n${r.stderr}`);
  if (m === null) {
    console.log(`   redis-benchmark gave no figure (exit ${String(r.status)}): ${r.stdout.trim()} ${r.stderr.trim()}`);
    return;
  }
  const ceiling = Number(m[1]);
  console.log(`   redis-benchmark -t rpush -n 100000 (50 clients): ${ceiling.toFixed(0)} RPUSH/s`);
  console.log(`   ours / raw RPUSH: ${(oursPerSec / ceiling).toFixed(2)}`);
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
  } finally {
    await store.close();
    // Only matters on a shared REDIS_URL server; a private one goes away with its data.
    let cursor = '0';
    do {
      const [next, keys] = (await raw.sendCommand(['SCAN', cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', '1000'])) as [string, string[]];
      cursor = next;
      if (keys.length > 0) await raw.del(keys);
    } while (cursor !== '0');
    await raw.close();
    await server?.stop();
  }
}

await main();
