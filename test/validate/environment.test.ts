import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, diagnosticsOf, HEADER } from './check.ts';

const BASE =
  HEADER +
  'prompt "p" {\n  content "x"\n}\n' +
  'agent "bot" {\n  uses prompt "p"\n  model "m"\n}\n' +
  'server "srv" {\n  transport "stdio"\n  command "x"\n}\n' +
  'client "cli" {\n  connects to server "srv"\n}\n';

test('overrides of every allowed kind word validate', () => {
  const src =
    BASE +
    'environment "dev" {\n  agent "bot" {\n    model "small"\n  }\n  prompt "p" {\n    content "y"\n  }\n  server "srv" {\n    command "z"\n  }\n  client "cli" {\n    x "1"\n  }\n}\n';
  assert.deepEqual(check(src), []);
});

test('an unknown override target is reported at the environment keyword', () => {
  const src = BASE + '\n  environment "dev" {\n  agent "bott" {\n    model "small"\n  }\n  MCPServer "srv" {\n    command "z"\n  }\n}\n';
  assert.deepEqual(check(src), [
    't.ias:17:3: environment "dev": override target "agent/bott" not found',
    't.ias:17:3: environment "dev": override target "MCPServer/srv" not found',
  ]);
  assert.equal(
    diagnosticsOf(src)[0]?.hint,
    'check the resource kind and name (available: agent/bot, client/cli, prompt/p, server/srv)',
  );
});

test('the same attribute overridden twice in one environment conflicts; across environments it does not', () => {
  const src =
    BASE +
    'environment "dev" {\n  agent "bot" {\n    model "a"\n  }\n  agent "bot" {\n    model "b"\n    timeout "1s"\n  }\n}\n' +
    'environment "prod" {\n  agent "bot" {\n    model "c"\n  }\n}\n';
  assert.deepEqual(check(src), ['t.ias:16:1: conflicting override in environment "dev": agent/bot.model set multiple times']);
});
