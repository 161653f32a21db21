// What a pipeline and a delegation add over the agent calls they make, each beside a baseline in
// the same run, on one in-process server with the echo model (so the model costs the same on both sides):
//  pipeline:   POST /v1/pipelines/one/run (one step) against POST /v1/agents/a/invoke with the
//              message that step sends;
//  three:      a three-step chain against three invokes in a row;
//  delegation: an invoke whose agent delegates once (two model calls of its own, one of the
//              delegate) against three invokes in a row.
// Prints the mean time per run and the ratio.
import type { IRDocument, Resource } from '../src/ir/types.ts';
import { MemorySessionStore } from '../src/session/index.ts';
import { buildAgentRegistry, buildPipelineRegistry, buildServer, ProviderRegistry } from '../src/runtime/index.ts';
import { pair as timedPair } from './_pair.ts';

const RUNS = Number(process.env.BENCH_PIPELINE_RUNS ?? 600);

const res = (kind: Resource['kind'], name: string, attributes: Resource['attributes']): Resource => ({ kind, name, fqn: `bench/${kind}/${name}`, hash: 'sha256:x', attributes });
const doc: IRDocument = {
  ir_version: '1.0',
  lang_version: '2.0',
  package: { name: 'bench', version: '0.1.0' },
  resources: [
    res('Prompt', 'p', { content: 'You help.' }),
    res('Agent', 'a', { model: 'echo', prompt: 'p' }),
    res('Agent', 'boss', { model: 'echo', prompt: 'p', delegates: [{ agent: 'a', condition: '' }] }),
    res('Pipeline', 'one', { name: 'one', steps: [{ name: 's', agent: 'a' }] }),
    res('Pipeline', 'three', { name: 'three', steps: [{ name: 's1', agent: 'a' }, { name: 's2', agent: 'a', depends_on: ['s1'] }, { name: 's3', agent: 'a', depends_on: ['s2'] }] }),
  ],
};

async function main(): Promise<void> {
  const agents = buildAgentRegistry([doc], new ProviderRegistry({}));
  const app = await buildServer({ agents, pipelines: buildPipelineRegistry([doc], agents), store: new MemorySessionStore({}), rateLimit: 0 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  const base = `http://127.0.0.1:${addr.port}`;
  const post = async (path: string, body: unknown): Promise<void> => {
    const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await r.text();
    if (r.status !== 200 || text.includes('"failed"')) throw new Error(`${path}: ${r.status} ${text}`);
  };
  const trigger = { topic: 'tides' };
  const invoke = (): Promise<void> => post('/v1/agents/a/invoke', { message: JSON.stringify(trigger) });
  const three = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) await invoke();
  };

  console.log(`${RUNS} runs each, sequential, one in-process server, echo model`);
  await pair('pipeline (1 step) vs invoke', invoke, () => post('/v1/pipelines/one/run', { trigger }));
  await pair('pipeline (3 steps) vs 3 invokes', three, () => post('/v1/pipelines/three/run', { trigger }));
  await pair('delegation vs 3 invokes', three, () => post('/v1/agents/boss/invoke', { message: '/tool delegate_to_a {"task": "{\\"topic\\":\\"tides\\"}"}' }));
  await app.close();
}

async function pair(label: string, baseline: () => Promise<unknown>, ours: () => Promise<unknown>): Promise<void> {
  await timedPair(label, baseline, ours, { runs: RUNS, warmup: 30, unit: 'run' });
}

await main();
