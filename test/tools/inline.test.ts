import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ToolConfigError, type ToolSet } from '../../src/tools/index.ts';
import { ctx, skillDoc, toolsOf } from './helpers.ts';

describe('inline tools (real interpreters, sandbox off)', () => {
  let set: ToolSet;
  let tool: Awaited<ReturnType<typeof toolsOf>>['tool'];
  before(async () => {
    process.env.AGENTSPEC_TEST_LEAK = 'must-not-leak';
    const input = [{ name: 'name', type: 'string' }];
    const doc = skillDoc({
      py: { input, tool: { type: 'inline', language: 'python', code: 'import json, sys, os\nd = json.load(sys.stdin)\nprint("hello " + d["name"], os.getcwd() == os.environ["TMPDIR"], "AGENTSPEC_TEST_LEAK" in os.environ)' } },
      js: { input, tool: { type: 'inline', language: 'javascript', code: 'let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => console.log("hi " + JSON.parse(s).name, process.env.AGENTSPEC_TEST_LEAK === undefined));' } },
      sh: { input, tool: { type: 'inline', language: 'bash', code: 'read -r line; echo "bash got $line"' } },
      pyhog: { tool: { type: 'inline', language: 'python', code: 'x = bytearray(400 * 1024 * 1024)\nprint(len(x))', memory_limit: '64Mi' } },
      pysmall: { tool: { type: 'inline', language: 'python', code: 'x = bytearray(8 * 1024 * 1024)\nprint(len(x))', memory_limit: '128Mi' } },
      jshog: { tool: { type: 'inline', language: 'javascript', code: 'const a = []; for (;;) a.push(new Array(100000).fill(Math.random()));', memory_limit: '48Mi', timeout: '20s' } },
      forever: { tool: { type: 'inline', language: 'bash', code: 'sleep 30', timeout: '200ms' } },
    });
    ({ set, tool } = await toolsOf(doc, { sandbox: 'off' }));
  });
  after(async () => {
    delete process.env.AGENTSPEC_TEST_LEAK;
    await set.close();
  });

  test('python, javascript and bash run with the input on stdin, in a fresh temp dir, scrubbed env', async () => {
    const py = await tool('py').call({ name: 'ada' }, ctx());
    assert.equal(py.content, 'hello ada True False\n', py.content);
    const js = await tool('js').call({ name: 'bob' }, ctx());
    assert.equal(js.content, 'hi bob true\n', js.content);
    const sh = await tool('sh').call({ name: 'cy' }, ctx());
    assert.equal(sh.content, 'bash got {"name":"cy"}\n');
  });

  test('python allocating past its memory limit fails as a tool error (RLIMIT_AS)', async () => {
    const o = await tool('pyhog').call({}, ctx());
    assert.equal(o.is_error, true);
    assert.match(o.content, /MemoryError/);
    // The same code under the limit works: the limit is what stopped it.
    const ok = await tool('pysmall').call({}, ctx());
    assert.equal(ok.content, `${8 * 1024 * 1024}\n`);
  });

  test('javascript past its heap limit fails as a tool error', async () => {
    const o = await tool('jshog').call({}, ctx());
    assert.equal(o.is_error, true);
    assert.match(o.content, /heap|memory/i);
  });

  test('timeout kills the code', async () => {
    const o = await tool('forever').call({}, ctx());
    assert.equal(o.is_error, true);
    assert.match(o.content, /timed out after 200ms/);
  });

  test('an unsupported language is a clear start-up error', async () => {
    const doc = skillDoc({ rb: { tool: { type: 'inline', language: 'ruby', code: 'puts 1' } } });
    await assert.rejects(toolsOf(doc, { sandbox: 'off' }), (err: unknown) => err instanceof ToolConfigError && /skill "rb": inline language "ruby" is not supported \(use python, javascript or bash\)/.test(err.message));
  });

  test('a memory limit that is not a size is a start-up error', async () => {
    const doc = skillDoc({ m: { tool: { type: 'inline', language: 'bash', code: 'true', memory_limit: 'lots' } } });
    await assert.rejects(toolsOf(doc, { sandbox: 'off' }), /skill "m": memory "lots" is not a size/);
  });
});
