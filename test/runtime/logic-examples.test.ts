// Every shared IntentLang example with `validate` rules or `on input` loads in a real `agentspec
// run` and answers with the echo model (its model names replaced by `echo`, nothing else changed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '../../src/lang/index.ts';
import { call } from './fixtures.ts';
import { startRunChild } from './run-child.ts';

const EXAMPLES = fileURLToPath(new URL('../fixtures/intentlang/examples/', import.meta.url));

test('the shared examples with validate rules or on input run with the echo model', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-logic-examples-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(EXAMPLES, dir, { recursive: true });
  const withLogic: Array<{ file: string; agents: string[] }> = [];
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.ias')).sort()) {
    const file = path.join(dir, name);
    const source = await readFile(file, 'utf8');
    await writeFile(file, source.replace(/^(\s*model\s+)"[^"]*"/gm, '$1"echo"'));
    const { file: ast } = parse(source, name);
    const agents = ast.statements.filter((s) => s.kind === 'agent');
    if (agents.some((a) => a.validate !== undefined || a.onInput !== undefined)) withLogic.push({ file, agents: agents.map((a) => a.name) });
  }
  assert.deepEqual(
    withLogic.map((w) => path.basename(w.file)),
    ['hello-agent.ias', 'support-agent.ias'],
  );
  for (const { file, agents } of withLogic) {
    const run = await startRunChild([file]);
    try {
      for (const agent of agents) {
        const r = await call(`${run.url}/v1/agents/${agent}/invoke`, 'POST', { message: 'Hello, my name is Alice' });
        assert.equal(r.status, 200, `${path.basename(file)} ${agent}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.output, 'echo: Hello, my name is Alice (messages: 1)');
      }
    } finally {
      await run.stop();
    }
  }
});
