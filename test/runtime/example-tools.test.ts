// The repository's tools example (examples/tools) served by a real `agentspec run` with the echo
// model: its command skill and its MCP skill answer `/tool` messages. Its http skill calls a public
// API and is left to a machine with internet access; the http executor is tested in test/tools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { call } from './fixtures.ts';
import { startRunChild } from './run-child.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/tools/tools.ias', import.meta.url));

test('examples/tools runs with the echo model: its command and MCP skills answer /tool', { timeout: 120_000 }, async (t) => {
  const run = await startRunChild([EXAMPLE]);
  t.after(() => run.stop());
  const upper = await call(`${run.url}/v1/agents/helper/invoke`, 'POST', { message: '/tool upper {"text": "hi there"}' });
  assert.equal(upper.status, 200, JSON.stringify(upper.body));
  assert.equal(upper.body.output, '{"TEXT":"HI THERE"}');
  const echoed = await call(`${run.url}/v1/agents/helper/invoke`, 'POST', { message: '/tool mcp-echo {"message": "hi there"}' });
  assert.equal(echoed.status, 200, JSON.stringify(echoed.body));
  assert.equal(echoed.body.output, 'Echo: hi there');
  // Log lines reach the pipe on their own schedule: wait for both before reading them.
  const executed = (): unknown[][] => run.logs().filter((l) => l.msg === 'tool executed').map((l) => [l.skill, l.kind, l.outcome]);
  for (let i = 0; i < 100 && executed().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(executed(), [
    ['upper', 'command', 'ok'],
    ['mcp-echo', 'mcp', 'ok'],
  ]);
});
