// Runtime HTTP benchmark. Every server is a process of its own, the load comes from wrk (a process
// of its own) when installed, else from autocannon in this process (BENCH_LOADGEN=autocannon forces
// it), one server runs at a time, and a peer runs in the same run:
//   baseline   fastify + zod with the runtime's body schemas and an echo handler (bench/_baseline-server.ts)
//   ours       the compiled `agentspec run` of this checkout (built first), echo model
//   previous   the same, built from an older commit (--baseline-ref REF or BENCH_BASELINE_REF)
//   floor      (Redis sessions only) fastify + zod + the Redis client sending the runtime's own two
//              turn scripts and nothing else (bench/_redis-floor-server.ts): what the libraries
//              and Redis cost per turn, so that ours/floor is the part that is the runtime's own
// Scenarios: stateless invoke; one message per request spread over 1,000 sessions (memory store,
// and Redis: REDIS_URL or a private redis-server); one long session with a sliding-window agent
// at two history sizes; server RSS idle vs after an invoke burst.
// Printed per run: req/s, p50/p99 latency, server CPU per request (utime+stime from /proc, and the
// stime part: on loopback a response's write delivers it and wakes the load generator, which costs
// more the longer that has been idle, so a slower server also pays more kernel time per response), the
// load generator's CPU per request (on two cores it takes from the server), RSS, redis-server's
// CPU per turn (private server only), and the ratios to the baseline (and to the previous build).
// Knobs (env): BENCH_DURATION seconds per run (5), BENCH_CONNECTIONS (16), BENCH_SESSIONS (1000),
// BENCH_LONG_REQUESTS requests on the long session (20000), BENCH_HISTORIES the long session's
// starting sizes (10,10000), BENCH_BURST seconds (10),
// BENCH_WARMUP seconds of load before each measured run (3),
// BENCH_SCENARIOS comma-separated subset of invoke,sessions,redis,long,rss, BENCH_ROUNDS (1): each
// scenario runs that many rounds with the servers taking turns, and each server's median round
// (by req/s) is reported, so that a burst of other load on the machine falls on all alike; the
// goals also print the median of each round's ratio to the baseline run just before it (the
// Redis rounds run the baseline's invoke for this), which a host that drifts moves least,
// BENCH_PROFILE=DIR writes a CPU profile of each server there (node --cpu-prof, a folder per
// kind of server), to compare ours with the baseline and the floor function by function,
// BENCH_NO_BUILD=1 uses dist/ as it is.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer, type RedisServer } from '../test/helpers/services.ts';
import { inParallel } from './_in-parallel.ts';
import { buildRef, load, LOADGEN, procFigures, startServer, type LoadFigures, type ServerProcess } from './_servers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const env = process.env;
const DURATION = Number(env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 16);
const SESSIONS = Number(env.BENCH_SESSIONS ?? 1000);
// About a second of load: 3,000 requests were 0.15 s, where one collection could move the figure by
// a tenth, and two builds of the same code came out 0.84x to 1.2x of each other from run to run.
const LONG_REQUESTS = Number(env.BENCH_LONG_REQUESTS ?? 20_000);
const BURST = Number(env.BENCH_BURST ?? 10);
const WARMUP_SECONDS = Number(env.BENCH_WARMUP ?? 3);
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 1));
const HISTORIES = (env.BENCH_HISTORIES ?? '10,10000').split(',').map(Number);
const SCENARIOS = new Set((env.BENCH_SCENARIOS ?? 'invoke,sessions,redis,long,rss').split(',').map((s) => s.trim()));
const { values: flags } = parseArgs({ options: { 'baseline-ref': { type: 'string' } } });
const BASELINE_REF = flags['baseline-ref'] ?? env.BENCH_BASELINE_REF;

// A unique agent name keeps this run's keys (the per-agent session index) apart in a shared Redis.
const AGENT = `bot${randomBytes(3).toString('hex')}`;
const WINDOWED = `${AGENT}w`;
const SPEC = [
  'package "bench" version "0.1.0" lang "2.0"',
  '',
  'prompt "system" {',
  '  content "You are a benchmark."',
  '}',
  '',
  `agent "${AGENT}" {`,
  '  uses prompt "system"',
  '  model "echo"',
  '}',
  '',
  `agent "${WINDOWED}" {`,
  '  uses prompt "system"',
  '  model "echo"',
  '  memory {',
  '    strategy "sliding_window"',
  '    max_messages 20',
  '  }',
  '}',
  '',
].join('\n');

type Kind = 'baseline' | 'ours' | 'previous' | 'floor';
type Store = { kind: 'memory' } | { kind: 'redis'; url: string };

interface Row {
  scenario: string;
  kind: Kind;
  figures: LoadFigures;
  note?: string;
  /**
   * The median over rounds of this server's req/s over the baseline's in the same round: the two
   * ran one after the other, so a stretch of the host running slower falls on both, where the
   * ratio of two medians can pair a fast round with a slow one.
   */
  paired?: number;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'agentspec-bench-runtime-'));
const specFile = path.join(work, 'bench.ias');
writeFileSync(specFile, SPEC);
let profiles = 0;

function checkoutOf(kind: Kind, previous: string | undefined): string {
  return kind === 'previous' ? previous! : ROOT;
}

async function start(kind: Kind, store: Store, previous: string | undefined): Promise<ServerProcess> {
  const logFile = path.join(work, 'logs', `${kind}-${Date.now()}.log`);
  // A folder per server: one started through tsx has a loader thread that writes a profile of its own beside the main one.
  const prof = env.BENCH_PROFILE === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.join(env.BENCH_PROFILE, kind)];
  if (prof.length > 0) profiles++;
  if (kind === 'baseline') {
    return startServer('baseline', [...prof, '--import', 'tsx', path.join(ROOT, 'bench', '_baseline-server.ts')], { logFile, cwd: ROOT });
  }
  if (kind === 'floor') {
    if (store.kind !== 'redis') throw new Error('the floor server keeps its sessions in Redis only');
    return startServer('floor', [...prof, '--import', 'tsx', path.join(ROOT, 'bench', '_redis-floor-server.ts')], { logFile, cwd: ROOT, env: { ...process.env, REDIS_URL: store.url } });
  }
  const bin = path.join(checkoutOf(kind, previous), 'bin', 'agentspec.js');
  const storeArgs = store.kind === 'redis' ? ['--session-store', 'redis', '--redis-url', store.url] : [];
  // JSON logs, as a server deployment writes them (one line per request at info, to a file here).
  return startServer(kind, [...prof, bin, '--log-format', 'json', 'run', specFile, '--port', '0', '--rate-limit', '0', '--session-ttl', '1h', '--max-session-messages', '1000000', ...storeArgs], {
    logFile,
    cwd: work,
  });
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function createSessions(server: ServerProcess, agent: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  await inParallel(n, 16, async () => ids.push(String((await post(`${server.url}/v1/agents/${agent}/sessions`, {})).session_id)));
  return ids.map((id) => `/v1/agents/${agent}/sessions/${id}`);
}

// Long enough for the JIT: a fresh runtime served 32.6k req/s in its first 2 s of invoke load and
// 36-39k from then on, where the baseline (less code to compile) is at its steady rate within
// one; a one-second warm-up measured part of our start instead of the server that runs for hours.
const WARMUP = { body: { message: 'warm-up' }, connections: CONNECTIONS, duration: WARMUP_SECONDS };

type Run = (s: ServerProcess) => Promise<{ figures: LoadFigures; note?: string }>;

/** One run on one server: fresh process, the scenario (warm-up included), stop. */
async function once(name: string, kind: Kind, store: Store, previous: string | undefined, run: Run): Promise<Row> {
  const server = await start(kind, store, previous);
  try {
    const r = await run(server);
    return { scenario: name, kind, ...r };
  } finally {
    await server.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * ROUNDS rounds of the scenario, the servers taking turns; each server's median round, and its
 * median ratio to the baseline's round. `runs` gives a server a run of its own (the baseline's
 * invoke beside our Redis sessions, which it has no counterpart of).
 */
async function scenario(name: string, kinds: readonly Kind[], store: Store, previous: string | undefined, run: Run, runs: Partial<Record<Kind, Run>> = {}): Promise<Row[]> {
  const all = new Map<Kind, Row[]>(kinds.map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) for (const k of kinds) all.get(k)!.push(await once(name, k, store, previous, runs[k] ?? run));
  const baseline = all.get('baseline');
  const rows = kinds.map((k) => {
    const rounds = all.get(k)!;
    const middle = median(rounds.map((r) => r.figures.rps));
    const row = { ...rounds.find((r) => r.figures.rps === middle)! };
    if (baseline !== undefined && k !== 'baseline') row.paired = median(rounds.map((r, i) => r.figures.rps / baseline[i]!.figures.rps));
    if (ROUNDS > 1) row.note = `${row.note === undefined ? '' : `${row.note}; `}rounds ${rounds.map((r) => r.figures.rps.toFixed(0)).join('/')} req/s`;
    return row;
  });
  for (const r of rows) console.log(`  ${name}, ${r.kind}: ${r.figures.rps.toFixed(0)} req/s, p99 ${r.figures.p99.toFixed(1)} ms, ${r.figures.cpuUs.toFixed(0)} µs CPU/request (${r.figures.sysUs.toFixed(0)} in the kernel), ${r.figures.loadgen} ${r.figures.loadgenCpuUs.toFixed(0)} µs ${r.note ?? ''}`);
  return rows;
}

async function invoke(s: ServerProcess): Promise<{ figures: LoadFigures }> {
  const paths = [`/v1/agents/${AGENT}/invoke`];
  await load(s, { ...WARMUP, paths });
  return { figures: await load(s, { body: { message: 'hello there' }, paths, connections: CONNECTIONS, duration: DURATION }) };
}

/** Messages over SESSIONS sessions; with `storePid`, that store server's CPU per turn as well. */
function manySessions(storePid?: () => number | undefined): Run {
  return async (s) => {
    const paths = await createSessions(s, AGENT, SESSIONS);
    await load(s, { ...WARMUP, paths });
    const pid = storePid?.();
    const before = pid === undefined ? undefined : procFigures(pid).cpuSeconds;
    const figures = await load(s, { body: { message: 'hello there' }, paths, connections: CONNECTIONS, duration: DURATION });
    if (pid === undefined || before === undefined) return { figures };
    const us = ((procFigures(pid).cpuSeconds - before) * 1e6) / Math.max(1, figures.requests);
    return { figures, note: `redis-server ${us.toFixed(0)} µs CPU/turn` };
  };
}

function longSession(history: number): (s: ServerProcess) => Promise<{ figures: LoadFigures; note: string }> {
  return async (s) => {
    // Warmed up on a session of its own first: a fresh server's first few thousand turns are
    // mostly the JIT compiling, which the short run on a small history measured instead.
    await load(s, { ...WARMUP, paths: await createSessions(s, WINDOWED, 1) });
    const paths = await createSessions(s, WINDOWED, 1);
    // Each turn stores two messages (the question and the answer).
    await load(s, { body: { message: 'filler' }, paths, connections: CONNECTIONS, amount: Math.ceil(history / 2) });
    const figures = await load(s, { body: { message: 'hello there' }, paths, connections: CONNECTIONS, amount: LONG_REQUESTS });
    return { figures, note: `history ${history} -> ${history + 2 * LONG_REQUESTS}` };
  };
}

async function rssBurst(s: ServerProcess): Promise<{ figures: LoadFigures; note: string }> {
  const paths = [`/v1/agents/${AGENT}/invoke`];
  await load(s, { ...WARMUP, paths });
  await sleep(1000);
  const idle = procFigures(s.pid).rssBytes;
  const figures = await load(s, { body: { message: 'hello there' }, paths, connections: CONNECTIONS, duration: BURST });
  await sleep(2000);
  const after = procFigures(s.pid).rssBytes;
  return { figures: { ...figures, rssBytes: after }, note: `RSS idle ${mib(idle)} -> ${mib(after)} MiB 2 s after a ${BURST} s burst: ${(after / idle).toFixed(2)}x` };
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}

function print(rows: Row[]): void {
  const base = (scenario: string): Row | undefined => rows.find((r) => r.scenario === scenario && r.kind === 'baseline');
  const baseInvoke = base('invoke');
  const prev = (r: Row): Row | undefined => rows.find((x) => x.scenario === r.scenario && x.kind === 'previous');
  console.log(
    `\n${'scenario'.padEnd(22)} ${'server'.padEnd(9)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'CPU µs/req'.padStart(10)} ${'sys µs'.padStart(6)} ${'load µs'.padStart(7)} ${'RSS MiB'.padStart(8)} ${'fail'.padStart(5)} ${'/base'.padStart(6)} ${'/base inv'.padStart(9)} ${'/prev'.padStart(6)}  note`,
  );
  for (const r of rows) {
    const f = r.figures;
    const same = base(r.scenario);
    const p = prev(r);
    const ratio = (x: Row | undefined): string => (x === undefined || r.kind === x.kind ? '' : (f.rps / x.figures.rps).toFixed(2));
    console.log(
      `${r.scenario.padEnd(22)} ${r.kind.padEnd(9)} ${f.rps.toFixed(0).padStart(8)} ${f.p50.toFixed(1).padStart(7)} ${f.p99.toFixed(1).padStart(7)} ${f.cpuUs.toFixed(0).padStart(10)} ${f.sysUs.toFixed(0).padStart(6)} ${f.loadgenCpuUs.toFixed(0).padStart(7)} ${mib(f.rssBytes).padStart(8)} ${String(f.failures).padStart(5)} ${ratio(same).padStart(6)} ${ratio(baseInvoke).padStart(9)} ${(r.kind === 'ours' ? ratio(p) : '').padStart(6)}  ${r.note ?? ''}`,
    );
  }
}

function goals(rows: Row[]): void {
  const get = (scenario: string, kind: Kind): LoadFigures | undefined => rows.find((r) => r.scenario === scenario && r.kind === kind)?.figures;
  const baseline = get('invoke', 'baseline');
  if (baseline === undefined) return;
  console.log('\ngoals (ours; previous in brackets)');
  const line = (what: string, goal: string, value: (kind: Kind) => string | undefined): void => {
    const ours = value('ours');
    const previous = value('previous');
    if (ours !== undefined) console.log(`  ${what.padEnd(44)} ${ours}${previous === undefined ? '' : ` [${previous}]`}  (goal ${goal})`);
  };
  // Beside the ratio of medians, the median of the rounds' ratios to the baseline run just before
  // (its invoke, which it runs beside our Redis rounds too): the figure a drifting host moves least.
  // In the memory sessions rounds the baseline runs its own session route instead, so that
  // pairing is a line of its own.
  const rel =
    (scenario: string, paired = true) =>
    (kind: Kind) => {
      const row = rows.find((r) => r.scenario === scenario && r.kind === kind);
      if (row === undefined) return undefined;
      const byRound = !paired || row.paired === undefined ? '' : `, ${row.paired.toFixed(2)}x paired by round`;
      return `${(row.figures.rps / baseline.rps).toFixed(2)}x${byRound}`;
    };
  line('invoke req/s / baseline invoke', '>= 0.6x', rel('invoke'));
  line('invoke p99', '< 5 ms', (k) => {
    const f = get('invoke', k);
    return f === undefined ? undefined : `${f.p99.toFixed(1)} ms`;
  });
  line('1,000 sessions, memory / baseline invoke', '>= 0.4x', rel('sessions memory', false));
  const sessionsBaseline = get('sessions memory', 'baseline');
  const oursMemory = rows.find((r) => r.scenario === 'sessions memory' && r.kind === 'ours');
  if (sessionsBaseline !== undefined && oursMemory !== undefined) {
    const paired = oursMemory.paired === undefined ? '' : `, ${oursMemory.paired.toFixed(2)}x paired by round`;
    console.log(`  ${'1,000 sessions, memory / baseline sessions'.padEnd(44)} ${(oursMemory.figures.rps / sessionsBaseline.rps).toFixed(2)}x${paired}  (the baseline's own session route: a Map of arrays)`);
  }
  line('1,000 sessions, redis / baseline invoke', '>= 0.3x', rel('sessions redis'));
  const floor = rows.find((r) => r.scenario === 'sessions redis' && r.kind === 'floor');
  const oursRedis = rows.find((r) => r.scenario === 'sessions redis' && r.kind === 'ours');
  if (floor !== undefined && oursRedis !== undefined) {
    const paired = floor.paired === undefined ? '' : `, ${floor.paired.toFixed(2)}x paired by round`;
    console.log(`  ${'1,000 sessions, redis floor / baseline invoke'.padEnd(44)} ${(floor.figures.rps / baseline.rps).toFixed(2)}x${paired}  (fastify + zod + the Redis client and the two turn scripts alone)`);
    console.log(`  ${'1,000 sessions, redis ours / floor'.padEnd(44)} ${(oursRedis.figures.rps / floor.figures.rps).toFixed(2)}x, ${(oursRedis.figures.cpuUs - floor.figures.cpuUs).toFixed(0)} µs more CPU per turn`);
  }
  line('RSS after burst / idle', '<= 1.2x', (k) => /burst: ([\d.]+x)/.exec(rows.find((r) => r.scenario === 'rss burst' && r.kind === k)?.note ?? '')?.[1]);
}

let redis: RedisServer | undefined;
const rows: Row[] = [];
try {
  if (env.BENCH_NO_BUILD !== '1') {
    const b = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    if (b.status !== 0) throw new Error('npm run build failed');
  }
  const previous = BASELINE_REF === undefined ? undefined : buildRef(ROOT, BASELINE_REF);
  const kinds: Kind[] = previous === undefined ? ['baseline', 'ours'] : ['baseline', 'ours', 'previous'];
  console.log(
    `${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} round(s), echo model, loopback; load from ${LOADGEN === 'wrk' ? 'wrk (its own process, one thread)' : 'autocannon in this process'}, each server its own process` +
      `${previous === undefined ? '' : `; previous = ${BASELINE_REF} (${previous.sha.slice(0, 12)})`}; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} CPUs`,
  );
  const memory: Store = { kind: 'memory' };
  const dir = previous?.dir;
  if (SCENARIOS.has('invoke')) rows.push(...(await scenario('invoke', kinds, memory, dir, invoke)));
  if (SCENARIOS.has('sessions')) rows.push(...(await scenario('sessions memory', kinds, memory, dir, manySessions())));
  if (SCENARIOS.has('redis')) {
    // The baseline keeps no sessions in Redis: the ratio is to its invoke, as the goal says, which
    // it runs in each round here too, so that each of our rounds has one just before it.
    try {
      const url = env.REDIS_URL ?? (redis = await startRedisServer()).url;
      const withFloor = kinds.flatMap((k): Kind[] => (k === 'ours' ? ['ours', 'floor'] : [k]));
      rows.push(...(await scenario('sessions redis', withFloor, { kind: 'redis', url }, dir, manySessions(redis?.pid), { baseline: async (server) => ({ ...(await invoke(server)), note: 'its invoke, beside our Redis rounds' }) })));
    } catch (err) {
      console.log(`redis scenario skipped: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (SCENARIOS.has('long')) for (const h of HISTORIES) rows.push(...(await scenario(`long session h=${h}`, kinds, memory, dir, longSession(h))));
  if (SCENARIOS.has('rss')) rows.push(...(await scenario('rss burst', kinds, memory, dir, rssBurst)));
  print(rows);
  goals(rows);
  if (profiles > 0) console.log(`\nCPU profiles of the servers: ${env.BENCH_PROFILE}`);
  console.log('\nThe machine may be shared: compare figures of the same run only.');
} finally {
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
}
