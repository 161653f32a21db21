import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planMcp } from '../../../src/tools/mcp/config.ts';
import { McpConfigError } from '../../../src/tools/mcp/errors.ts';
import { capText, toOutcome } from '../../../src/tools/mcp/result.ts';
import { compile, tempDir } from './helpers.ts';

const HEAD = `package "t" version "0.1.0" lang "2.0"
prompt "p" {
  content "x"
}
`;
const server = (name: string, meta = ''): string => `server "${name}" {\n  transport "stdio"\n  command "x"\n  ${meta}\n}\n`;
const skill = (name: string, ref: string, meta = ''): string =>
  `skill "${name}" {\n  description "d"\n  input {\n    a string\n  }\n  output {\n    b string\n  }\n  tool mcp "${ref}"\n  ${meta}\n}\n`;
const OPTIONAL = 'metadata {\n    optional "true"\n  }';

async function plan(source: string): Promise<ReturnType<typeof planMcp>> {
  const t = await tempDir('mcp-plan');
  try {
    return planMcp(await compile(t.dir, HEAD + source));
  } finally {
    await t.cleanup();
  }
}

test('only servers a served agent reaches are planned; a server is required unless every use is optional', async () => {
  const p = await plan(
    server('a') +
      server('b') +
      server('c', OPTIONAL) +
      server('idle') +
      skill('sa', 'a/t1', OPTIONAL) +
      skill('sb', 'b/t2', OPTIONAL) +
      skill('sc', 'c/t3') +
      skill('unused', 'idle/t4') +
      `client "cl" {\n  connects to server "a"\n}\n` +
      `agent "bot" {\n  uses prompt "p"\n  uses skill "sa"\n  uses skill "sb"\n  uses skill "sc"\n  model "echo"\n  connects to client "cl"\n}\n`,
  );
  assert.deepEqual([...p.servers.keys()].sort(), ['a', 'b', 'c']);
  // a: its skill is optional but the client's use is not.
  assert.equal(p.servers.get('a')?.required, true);
  assert.deepEqual(p.servers.get('a')?.usedBy, ['skill "sa"', 'client "cl"']);
  assert.equal(p.servers.get('b')?.required, false);
  assert.equal(p.servers.get('c')?.required, false, 'the server itself is optional');
  assert.deepEqual(p.clients.get('cl'), ['a']);
  assert.deepEqual(p.skills.map((s) => `${s.skill}:${s.server}/${s.tool}:${s.optional}`), ['sa:a/t1:true', 'sb:b/t2:true', 'sc:c/t3:false']);
  assert.ok(p.declared.has('idle'));
});

test('a tool name keeps the slashes after the first; a bad timeout is a config error', async () => {
  const p = await plan(server('a') + skill('s', 'a/dir/tool') + `agent "bot" {\n  uses prompt "p"\n  uses skill "s"\n  model "echo"\n}\n`);
  assert.equal(p.skills[0]?.tool, 'dir/tool');
  await assert.rejects(
    plan(server('a', 'metadata {\n    timeout "soon"\n  }') + skill('s', 'a/t') + `agent "bot" {\n  uses prompt "p"\n  uses skill "s"\n  model "echo"\n}\n`),
    (err: unknown) => err instanceof McpConfigError && /metadata timeout "soon" is not a duration/.test(err.message),
  );
});

test('the output cap cuts on a character boundary and counts every byte', () => {
  const text = 'é'.repeat(10); // 20 bytes
  const cut = capText(text, 5);
  assert.equal(cut.truncated, true);
  assert.equal(cut.bytes, 20);
  assert.ok(cut.text.startsWith('éé\n[output truncated: 4 of 20 bytes shown]'), cut.text);
  assert.deepEqual(capText('short', 5), { text: 'short', bytes: 5, truncated: false });
});

test('results: text joined, structured-only content as JSON, isError kept', () => {
  assert.deepEqual(toOutcome({ content: [{ type: 'text', text: 'a' }, { type: 'resource_link', uri: 'file:///x', name: 'x' }] }, 100), {
    content: 'a\n[resource link file:///x (x)]',
    is_error: false,
    truncated: false,
    bytes: 31,
  });
  assert.equal(toOutcome({ content: [], structuredContent: { n: 1 } }, 100).content, '{"n":1}');
  assert.equal(toOutcome({ content: [{ type: 'text', text: 'bad' }], isError: true }, 100).is_error, true);
});
