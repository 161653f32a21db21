import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { check, HEADER } from './check.ts';

const PROMPT = 'prompt "p" {\n  content "x"\n}\n';
const agent = (name: string, body = ''): string => `agent "${name}" {\n  uses prompt "p"\n  model "echo"\n${body}}\n`;
const step = (name: string, body: string): string => `  step "${name}" {\n    agent "a"\n${body}  }\n`;

describe('pipeline checks', () => {
  test('steps that depend on each other in a cycle, at the first step of the cycle', () => {
    const src = HEADER + PROMPT + agent('a') + 'pipeline "loop" {\n' + step('one', '') + step('two', '    depends_on ["three"]\n') + step('three', '    depends_on ["two"]\n') + '}\n';
    assert.deepEqual(check(src), ['t.ias:13:8: pipeline "loop": steps depend on each other in a cycle: two -> three -> two']);
  });

  test('a longer cycle is one error; a self-dependency stays the structural one', () => {
    const src =
      HEADER + PROMPT + agent('a') + 'pipeline "l" {\n' + step('x', '    depends_on ["z"]\n') + step('y', '    depends_on ["x"]\n') + step('z', '    depends_on ["y"]\n') + step('s', '    depends_on ["s"]\n') + '}\n';
    assert.deepEqual(check(src), ['t.ias:22:8: step "s" cannot depend on itself', 't.ias:10:8: pipeline "l": steps depend on each other in a cycle: x -> z -> y -> x']);
  });

  test('unknown steps and agents are reported with their position', () => {
    const src = HEADER + PROMPT + agent('a') + 'pipeline "p" {\n  step "one" {\n    agent "ghost"\n    depends_on ["nowhere"]\n  }\n}\n';
    assert.deepEqual(check(src), ['t.ias:10:8: step "one" depends_on unknown step "nowhere"', 't.ias:10:8: step "one" references unknown agent "ghost"']);
  });

  test('a when that does not parse, or reads an unknown name or step, at its string', () => {
    const src =
      HEADER +
      PROMPT +
      agent('a') +
      'pipeline "w" {\n' +
      step('ok', '    when "trigger.level >= 2 and not (input matches \'^x\') or steps.ok.status == \'done\'"\n') +
      step('syntax', '    when "trigger.level = 2"\n') +
      step('regex', '    when "input matches \'(\'"\n') +
      step('names', '    when "priority == 1 or steps.nope.output contains \'x\' or steps[\'gone\'].status == \'done\'"\n') +
      '}\n';
    const out = check(src);
    assert.equal(out.length, 5, out.join('\n'));
    assert.equal(out[0], 't.ias:16:10: step "syntax": when: condition "trigger.level = 2": unexpected "=" (comparisons are == != < <= > >=) at column 15');
    assert.match(out[1]!, /^t\.ias:20:10: step "regex": when: condition "input matches '\('": invalid regular expression "\("/);
    assert.equal(out[2], 't.ias:24:10: step "names": when: unknown name "priority" at column 1');
    assert.equal(out[3], 't.ias:24:10: step "names": when: steps.nope is not a step of pipeline "w" (column 23)');
    assert.equal(out[4], 't.ias:24:10: step "names": when: steps.gone is not a step of pipeline "w" (column 57)');
  });
});

describe('delegation checks', () => {
  test('a delegation cycle, also through a fallback, at the edge that closes it', () => {
    const src =
      HEADER +
      PROMPT +
      agent('a', '  delegate to agent "b" when "b knows"\n') +
      agent('b', '  delegate to agent "c"\n') +
      agent('c', '  on_error "fallback"\n  fallback "a"\n') +
      agent('solo', '  delegate to agent "solo"\n');
    assert.deepEqual(check(src), ['t.ias:24:12: agent "solo" cannot delegate to itself', 't.ias:19:3: delegation cycle: a -> b -> c -(fallback)-> a']);
  });

  test('two fallbacks pointing at each other are a fallback cycle; a chain is fine', () => {
    const src = HEADER + PROMPT + agent('x', '  on_error "fallback"\n  fallback "y"\n') + agent('y', '  on_error "fallback"\n  fallback "x"\n') + agent('z', '  fallback "x"\n');
    assert.deepEqual(check(src), ['t.ias:15:3: fallback cycle: x -(fallback)-> y -(fallback)-> x']);
  });

  test('validate and plan refuse a cycle with FILE:LINE:COL', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-cycles-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'cycle.ias');
    await writeFile(file, HEADER + PROMPT + agent('a', '  delegate to agent "b"\n') + agent('b', '  delegate to agent "a"\n'));
    const expected = `${file}:13:12: error: delegation cycle: a -> b -> a`;
    const v = await runCli(['validate', file]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, new RegExp(expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const p = await runCli(['--state-file', path.join(dir, 'state.json'), 'plan', file]);
    assert.equal(p.code, 1);
    assert.ok(p.stderr.includes(expected), p.stderr);
  });
});
