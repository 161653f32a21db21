import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startToolSet, ToolConfigError } from '../../src/tools/index.ts';
import type { Resource } from '../../src/ir/types.ts';
import { ctx, skillDoc, toolsOf } from './helpers.ts';
import { EVERYTHING } from './mcp/helpers.ts';

/** An agent of the document itself: MCP servers start only when a served agent needs them. */
const agentUsing = (skills: string[]): Resource => ({ kind: 'Agent', name: 'user', fqn: 'tools-test/Agent/user', hash: 'sha256:t', attributes: { model: 'echo', skills } });

describe('the tool set built at start-up', () => {
  test('mcp skills go through the MCP connector: a used server that cannot start is a start-up error naming it', async () => {
    const server: Resource = { kind: 'MCPServer', name: 'files', fqn: 'tools-test/MCPServer/files', hash: 'sha256:t', attributes: { transport: 'stdio', command: 'true' } };
    const doc = skillDoc({ read: { tool: { type: 'mcp', server_tool: 'files/read' } } }, [server, agentUsing(['read'])]);
    await assert.rejects(startToolSet([doc], { env: process.env }), (err: unknown) => (err as { code?: string }).code === 'E_MCP_START' && /MCP server "files" failed to start/.test(String(err)));
  });

  test('an mcp skill of a running server answers through the tool set', async () => {
    const server: Resource = { kind: 'MCPServer', name: 'everything', fqn: 'tools-test/MCPServer/everything', hash: 'sha256:t', attributes: { transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] } };
    const doc = skillDoc({ say: { tool: { type: 'mcp', server_tool: 'everything/echo' }, input: [{ name: 'message', type: 'string', required: true }] } }, [server, agentUsing(['say'])]);
    const { set, tool } = await toolsOf(doc);
    try {
      assert.deepEqual(await tool('say').call({ message: 'through the set' }, ctx()), { content: 'Echo: through the set', is_error: false, truncated: false, bytes: 21 });
    } finally {
      await set.close();
    }
  });

  test('a malformed mcp reference and an unknown tool type are errors naming the skill', async () => {
    await assert.rejects(toolsOf(skillDoc({ m: { tool: { type: 'mcp', server_tool: 'noslash' } } })), /skill "m": tool mcp "noslash" is not "server\/tool"/);
    await assert.rejects(toolsOf(skillDoc({ w: { tool: { type: 'wasm' } } })), (err: unknown) => err instanceof ToolConfigError && err.skill === 'w');
  });

  test('a secret a skill refers to must be declared', async () => {
    await assert.rejects(toolsOf(skillDoc({ c: { tool: { type: 'command', binary: 'true', secrets: { TOKEN: 'nope' } } } })), /skill "c": secrets: TOKEN refers to secret "nope", which is not declared/);
    await assert.rejects(toolsOf(skillDoc({ h: { tool: { type: 'http', url: 'https://example.com/', headers: { authorization: 'Bearer {{secret.nope}}' } } } })), /header authorization refers to secret "nope"/);
  });

  test('the 1.0 `execution` form is offered but answers what to change', async () => {
    const doc = skillDoc({});
    doc.resources?.push({ kind: 'Skill', name: 'old', fqn: 'tools-test/Skill/old', hash: 'sha256:t', attributes: { description: 'd', execution: { type: 'command', value: 'x' }, input: [] } });
    const { set, tool } = await toolsOf(doc);
    try {
      const o = await tool('old').call({}, ctx());
      assert.equal(o.is_error, true);
      assert.match(o.content, /1\.0 `execution` form/);
    } finally {
      await set.close();
    }
  });
});
