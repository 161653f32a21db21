// Every shared example with a pipeline or a delegate runs end to end with the echo model: served by
// a real `agentspec run` (each pipeline through POST /v1/pipelines/NAME/run) and in-process through
// `agentspec pipeline run`. The examples name real models and binaries; the copies run here get
// `model "echo"` and, for each command binary, a stand-in on PATH that prints its stdin.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/lang/parser.ts';
import { runCli } from '../helpers/cli.ts';
import { call } from './fixtures.ts';
import { startRunChild } from './run-child.ts';

const EXAMPLES = fileURLToPath(new URL('../fixtures/intentlang/examples/', import.meta.url));

interface Example {
  file: string;
  pipelines: string[];
  source: string;
}

async function examplesWithPipelinesOrDelegates(): Promise<Example[]> {
  const out: Example[] = [];
  for (const f of (await readdir(EXAMPLES)).filter((x) => x.endsWith('.ias')).sort()) {
    const source = await readFile(path.join(EXAMPLES, f), 'utf8');
    const statements = parse(source, f).file.statements;
    const pipelines = statements.flatMap((s) => (s.kind === 'pipeline' ? [s.name] : []));
    const delegates = statements.some((s) => s.kind === 'agent' && s.delegates.length > 0);
    if (pipelines.length > 0 || delegates) out.push({ file: f, pipelines, source });
  }
  return out;
}

describe('shared examples with pipelines or delegates run with the echo model', () => {
  let dir: string;
  let examples: Example[];
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-examples-'));
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    examples = await examplesWithPipelinesOrDelegates();
    for (const e of examples) {
      await writeFile(path.join(dir, e.file), e.source.replace(/^(\s*model\s+)"[^"]*"/gm, '$1"echo"'));
      for (const [, binary] of e.source.matchAll(/^\s*binary\s+"([^"]+)"/gm)) {
        const stub = path.join(bin, binary!);
        await writeFile(stub, '#!/bin/sh\ncat\n');
        await chmod(stub, 0o755);
      }
    }
    env = { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the set is not empty', () => {
    assert.ok(examples.some((e) => e.pipelines.length > 0), `found: ${examples.map((e) => e.file).join(', ')}`);
  });

  test('each pipeline runs to completion on agentspec run and in-process', { timeout: 180_000 }, async () => {
    for (const e of examples) {
      const spec = path.join(dir, e.file);
      const run = await startRunChild([spec], env);
      try {
        const listed = await call(`${run.url}/v1/pipelines`, 'GET');
        assert.deepEqual((listed.body.pipelines as Array<{ name: string }>).map((p) => p.name), [...e.pipelines].sort(), e.file);
        for (const name of e.pipelines) {
          const res = await call(`${run.url}/v1/pipelines/${encodeURIComponent(name)}/run`, 'POST', { trigger: { example: e.file } });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(res.body.status, 'completed', `${e.file} ${name}: ${JSON.stringify(res.body)}`);
          for (const [step, r] of Object.entries(res.body.steps as Record<string, { status: string; output: string }>)) {
            assert.ok(r.status === 'completed' || r.status === 'skipped', `${e.file} ${name}.${step}: ${r.status}`);
            if (r.status === 'completed') assert.match(r.output, /^echo: /);
          }
        }
      } finally {
        await run.stop();
      }
      for (const name of e.pipelines) {
        const r = await runCli(['pipeline', 'run', name, spec, '--input', JSON.stringify({ example: e.file })], { env });
        assert.equal(r.code, 0, r.stderr);
        assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'completed');
        assert.equal(r.stderr, '', 'quiet by default');
      }
    }
  });
});
