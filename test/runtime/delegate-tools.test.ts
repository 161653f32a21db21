import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentRunner, buildAgentRegistry, delegateToolName, ProviderRegistry, withDelegates, type AgentDefinition } from '../../src/runtime/index.ts';
import type { Tool } from '../../src/tools/index.ts';
import { irDoc } from './fixtures.ts';

test('delegate tool names are what providers accept, and never collide', () => {
  assert.equal(delegateToolName('billing', new Set()), 'delegate_to_billing');
  assert.equal(delegateToolName('Data Crunch!', new Set()), 'delegate_to_Data_Crunch_');
  assert.equal(delegateToolName('a.b', new Set(['delegate_to_a_b'])), 'delegate_to_a_b_2');
  const long = delegateToolName('x'.repeat(100), new Set());
  assert.equal(long.length, 64);
  assert.match(long, /^[A-Za-z0-9_-]{1,64}$/);
  const taken = new Set([long]);
  const next = delegateToolName('x'.repeat(100), taken);
  assert.equal(next.length, 64);
  assert.ok(next.endsWith('_2') && !taken.has(next));
});

test("an agent whose tools change at run time (an MCP client's) keeps its delegates beside them", () => {
  const agents = buildAgentRegistry(
    [irDoc({ agents: [{ name: 'lead', attrs: { delegates: [{ agent: 'helper', condition: '' }] } }, { name: 'helper' }] })],
    new ProviderRegistry({}),
  );
  const lead = agents.get('lead') as AgentDefinition;
  const mcpTool = (name: string): Tool => ({ name, kind: 'mcp', spec: { name, description: '', input_schema: { type: 'object' } }, call: async () => ({ content: '', is_error: false, truncated: false, bytes: 0 }) });
  // What agents.ts does for an agent that connects to a client: accessors over the current list.
  let current = { tools: [mcpTool('search').spec], executors: new Map([['search', mcpTool('search')]]) };
  Object.defineProperties(lead, {
    tools: { get: () => current.tools, enumerable: true, configurable: true },
    executors: { get: () => current.executors, enumerable: true, configurable: true },
  });
  const runner = new AgentRunner(agents);
  withDelegates(agents, () => runner, 3);
  withDelegates(agents, () => runner, 3);
  assert.deepEqual(lead.tools.map((t) => t.name), ['search', 'delegate_to_helper'], 'offered once, even when served twice');
  const first = lead.tools;
  assert.equal(lead.tools, first, 'the same list while the client list is the same');
  current = { tools: [mcpTool('search').spec, mcpTool('fetch').spec], executors: new Map([['search', mcpTool('search')], ['fetch', mcpTool('fetch')]]) };
  assert.deepEqual(lead.tools.map((t) => t.name), ['search', 'fetch', 'delegate_to_helper']);
  assert.deepEqual([...lead.executors.keys()], ['search', 'fetch', 'delegate_to_helper']);
  assert.equal(lead.executors.get('delegate_to_helper')?.kind, 'delegate');
});
