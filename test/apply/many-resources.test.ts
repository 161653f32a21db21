// The engine's record of a large package: every resource's entry is created, updated and removed
// exactly once (the engine finds entries by FQN; this checks what it finds, not how fast).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { makeWorkspace, specText, TEST_ENV } from './support.ts';
import { ProcessAdapter } from '../../src/adapters/index.ts';
import { applySpec, loadPackages } from '../../src/apply/index.ts';
import { openBackend } from '../../src/state/index.ts';
import type { StateEntry } from '../../src/state/types.ts';
import { freePort } from '../helpers/services.ts';

const ws = makeWorkspace('agentspec-many-');
after(async () => {
  await ws.cleanup();
});

const AGENTS = 400;
const SKILLS = 200;

async function apply(file: string): Promise<void> {
  const result = await applySpec(await loadPackages([file]), {
    backend: openBackend({ stateFile: ws.stateFile }),
    stateDir: ws.dir,
    lockTimeoutMs: 10_000,
    adapters: () => new ProcessAdapter({ startTimeoutMs: Number(TEST_ENV.AGENTSPEC_START_TIMEOUT_MS) }),
  });
  assert.ok(result.results.every((r) => r.ok), JSON.stringify(result.results.filter((r) => !r.ok).slice(0, 3)));
}

function byFqn(entries: readonly StateEntry[]): Map<string, StateEntry> {
  return new Map(entries.map((e) => [e.fqn, e]));
}

test('1,000 resources: created once each, updated in place, removed ones gone', { timeout: 300_000 }, async () => {
  const port = await freePort();
  const file = `${ws.dir}/many.ias`;
  writeFileSync(file, specText('many', port, { agents: AGENTS, skills: SKILLS, version: 'v1' }));
  await apply(file);
  const first = ws.readState().entries;
  assert.equal(first.length, 2 * AGENTS + SKILLS);
  assert.equal(byFqn(first).size, first.length, 'one entry per FQN');
  assert.ok(first.every((e) => e.status === 'applied' && e.runtime !== undefined), 'every entry applied with its runtime');
  const desired = (await loadPackages([file]))[0]!.document.resources ?? [];
  const recorded = byFqn(first);
  for (const r of desired) assert.equal(recorded.get(r.fqn)?.hash, r.hash, r.fqn);

  // Every prompt changes and the last ten agents (with their prompts) go.
  const kept = AGENTS - 10;
  writeFileSync(file, specText('many', port, { agents: kept, skills: SKILLS, version: 'v2' }));
  await apply(file);
  const second = ws.readState().entries;
  assert.equal(second.length, 2 * kept + SKILLS);
  assert.equal(byFqn(second).size, second.length, 'still one entry per FQN');
  const now = byFqn(second);
  for (const r of (await loadPackages([file]))[0]!.document.resources ?? []) assert.equal(now.get(r.fqn)?.hash, r.hash, r.fqn);
  assert.ok(now.has(`many/Agent/a${kept - 1}`) && now.has(`many/Prompt/p${kept - 1}`), 'the kept ones are there');
  for (let i = kept; i < AGENTS; i++) {
    assert.equal(now.has(`many/Agent/a${i}`), false);
    assert.equal(now.has(`many/Prompt/p${i}`), false);
  }
  assert.notEqual(now.get('many/Prompt/p0')?.hash, recorded.get('many/Prompt/p0')?.hash, 'the changed prompt was updated');
  assert.equal(now.get('many/Skill/s0')?.hash, recorded.get('many/Skill/s0')?.hash, 'an unchanged skill kept its entry');
});
