// Runtime HTTP benchmark (echo model, loopback):
//  baseline: stateless POST /v1/agents/:name/invoke (no session store involved);
//  ours:     POST /v1/agents/:name/sessions/:id, one conversation, memory store and Redis store
//            (history loaded, sent to the model, the turn appended atomically).
// Prints requests/second and the ratio to the baseline: the cost of keeping conversations.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { IRDocument } from '../src/ir/types.ts';
import { buildAgentRegistry, buildServer, ProviderRegistry } from '../src/runtime/index.ts';
import { createSessionStore, type SessionStore } from '../src/session/index.ts';
import { startRedisServer, type RedisServer } from '../test/helpers/services.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

const doc: IRDocument = {
  ir_version: '1.0',
  lang_version: '2.0',
  package: { name: 'bench', version: '0.1.0' },
  resources: [
    { kind: 'Agent', name: 'bot', fqn: 'bench/Agent/bot', attributes: { model: 'echo', prompt: 'system' }, hash: 'sha256:x' },
    { kind: 'Prompt', name: 'system', fqn: 'bench/Prompt/system', attributes: { content: 'You are a benchmark.' }, hash: 'sha256:x' },
  ],
};

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201) throw new Error(`${res.status} ${text}`);
}

async function measure(label: string, store: SessionStore, withSession: boolean): Promise<number> {
  const app = await buildServer({ agents: buildAgentRegistry([doc], new ProviderRegistry({})), store, rateLimit: 0 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  const base = `http://127.0.0.1:${addr.port}/v1/agents/bot`;
  try {
    let target = `${base}/invoke`;
    if (withSession) {
      const res = await fetch(`${base}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      target = `${base}/sessions/${((await res.json()) as { session_id: string }).session_id}`;
    }
    // Warm-up: connections, JIT.
    for (let i = 0; i < 50; i++) await post(target, { message: `warm ${i}` });
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          const i = next++;
          await post(target, { message: `message ${i}` });
        }
      }),
    );
    const rps = REQUESTS / ((performance.now() - started) / 1000);
    console.log(`${label.padEnd(40)} ${rps.toFixed(0).padStart(7)} req/s`);
    return rps;
  } finally {
    await app.close();
    await store.close();
  }
}

console.log(`${REQUESTS} requests, ${CONCURRENCY} concurrent, echo model, loopback`);
const baseline = await measure('baseline: stateless invoke (memory)', await createSessionStore({ kind: 'memory' }), false);
const memory = await measure('session message, memory store', await createSessionStore({ kind: 'memory' }), true);
console.log(`ratio session(memory) / stateless: ${(memory / baseline).toFixed(2)}`);
let redis: RedisServer | undefined;
try {
  const url = process.env.REDIS_URL ?? (redis = await startRedisServer()).url;
  const keyPrefix = `bench-runtime-${randomBytes(4).toString('hex')}`;
  const r = await measure('session message, redis store', await createSessionStore({ kind: 'redis', url, keyPrefix }), true);
  console.log(`ratio session(redis) / stateless: ${(r / baseline).toFixed(2)}`);
} catch (err) {
  console.log(`redis store skipped: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await redis?.stop();
}
