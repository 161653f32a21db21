import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { check, diagnosticsOf, HEADER } from './check.ts';

const SKILL = (name: string): string =>
  `skill "${name}" {\n  description "d"\n  input {\n    q string\n  }\n  output {\n    a string\n  }\n  tool command {\n    binary "b"\n  }\n}\n`;

describe('agent references', () => {
  test('the verified vector: skill "web-serch" not found at the end of its line, with a did-you-mean hint', () => {
    const src =
      HEADER +
      'prompt "research" {\n  content "x"\n}\n' +
      SKILL('web-search') +
      SKILL('summarize') +
      '\nagent "researcher" {\n  uses prompt "research"\n  uses skill "web-serch"\n  model "m"\n}\n';
    const diags = diagnosticsOf(src, 'invalid_ref.ias');
    assert.equal(diags.length, 1);
    const d = diags[0]!;
    assert.equal(`${d.file}:${d.line}:${d.column}: ${d.message}`, 'invalid_ref.ias:32:25: skill "web-serch" not found');
    assert.equal(d.hint, 'did you mean "web-search"?');
  });

  test('prompt, client, fallback, self-fallback and delegate references', () => {
    const src =
      HEADER +
      'prompt "system" {\n  content "x"\n}\n' +
      'agent "b" {\n  uses prompt "system"\n  model "m"\n}\n' +
      'agent "a" {\n  uses prompt "sys"\n  model "m"\n  connects to client "nope"\n  fallback "ghost"\n  delegate to agent "bb" when "x"\n  delegate agent "zzzzzz"\n}\n' +
      'agent "c" {\n  uses prompt "system"\n  model "m"\n  on_error "fallback"\n  fallback "c"\n}\n';
    assert.deepEqual(check(src), [
      't.ias:10:20: prompt "sys" not found',
      't.ias:12:28: client "nope" not found',
      't.ias:9:1: fallback agent "ghost" not found',
      't.ias:14:12: delegate agent "bb" not found',
      't.ias:15:12: delegate agent "zzzzzz" not found',
      't.ias:17:1: agent "c" cannot fallback to itself',
    ]);
    const hints = diagnosticsOf(src).map((d) => d.hint);
    assert.deepEqual(hints, [
      'available: system', // distance 3 is not below len("sys")/2+1 = 2
      undefined, // no client declared at all: no hint
      'available: a, b, c',
      'did you mean "b"?',
      'available: a, b, c',
      undefined,
    ]);
  });

  test('[3.0] on input: use skill and delegate to, recursing into if/else/for bodies (at the keyword)', () => {
    const src =
      HEADER +
      'prompt "p" {\n  content "x"\n}\n' +
      SKILL('lookup') +
      'agent "a" {\n  uses prompt "p"\n  model "m"\n  on input {\n    use skill lookup\n    if input == "x" {\n      use skill lookpu\n    } else if input == "y" {\n      delegate to helper\n    } else {\n      for each i in input.items {\n        use missing-skill\n      }\n    }\n  }\n}\n';
    assert.deepEqual(check(src), [
      't.ias:23:7: skill "lookpu" not found',
      't.ias:25:7: delegate agent "helper" not found',
      't.ias:28:9: skill "missing-skill" not found',
    ]);
  });
});

describe('other references', () => {
  test('tool mcp "server/tool" needs the server (at the mcp word); no slash, no check', () => {
    const mcpSkill = (ref: string): string =>
      `skill "s" {\n  description "d"\n  input {\n    q string\n  }\n  output {\n    a string\n  }\n  tool mcp "${ref}"\n}\n`;
    assert.deepEqual(check(HEADER + mcpSkill('search-srv/search')), [
      't.ias:10:8: MCP server "search-srv" not found in tool reference "search-srv/search"',
    ]);
    assert.deepEqual(check(HEADER + mcpSkill('just-a-tool')), []);
  });

  test('client -> server, server -> exposed skill and auth secret (end of line)', () => {
    const src =
      HEADER +
      SKILL('read') +
      'secret "token" {\n  env(TOKEN)\n}\n' +
      'server "files" {\n  transport "stdio"\n  command "x"\n  exposes skill "raed"\n  auth "tokne"\n}\n' +
      'client "c" {\n  connects to server "file"\n}\n';
    assert.deepEqual(check(src), [
      't.ias:20:23: skill "raed" not found',
      't.ias:21:15: secret "tokne" not found',
      't.ias:24:28: server "file" not found',
    ]);
    assert.deepEqual(
      diagnosticsOf(src).map((d) => d.hint),
      ['did you mean "read"?', 'did you mean "token"?', 'did you mean "files"?'],
    );
  });

  test('pipeline step with an unknown agent (at the step name string)', () => {
    const src =
      HEADER +
      'prompt "p" {\n  content "x"\n}\n' +
      'agent "writer" {\n  uses prompt "p"\n  model "m"\n}\n' +
      'pipeline "x" {\n  step "draft" {\n    agent "writr"\n  }\n}\n';
    assert.deepEqual(check(src), ['t.ias:10:8: step "draft" references unknown agent "writr"']);
  });

  test('prompt variables: undeclared {{ name }} only when a variables block exists (at the prompt keyword)', () => {
    const withVars = HEADER + 'prompt "p" {\n  content "Hi {{ name }}, {{topic}} and {{ name}}"\n  variables {\n    name string required\n  }\n}\n';
    assert.deepEqual(check(withVars), ['t.ias:2:1: prompt "p" references undeclared variable {{topic}}']);
    const withoutVars = HEADER + 'prompt "p" {\n  content "Hi {{ anything }}"\n}\n';
    assert.deepEqual(check(withoutVars), []);
  });

  test('more than one default binding or deploy target is reported at 1:1', () => {
    const src =
      HEADER +
      'binding "a" adapter "local-mcp" {\n  default true\n}\nbinding "b" adapter "local-mcp" {\n  default\n}\n' +
      'deploy "x" target "process" {\n  default true\n}\ndeploy "y" target "docker" {\n  default true\n}\n';
    assert.deepEqual(check(src), ['t.ias:1:1: multiple bindings marked as default', 't.ias:1:1: multiple deploy targets marked as default']);
  });

  test('same name in different kinds is fine, and references are per kind', () => {
    const src = HEADER + 'prompt "x" {\n  content "c"\n}\nagent "x" {\n  uses prompt "x"\n  model "m"\n}\n';
    assert.deepEqual(check(src), []);
    const wrongKind = HEADER + 'prompt "x" {\n  content "c"\n}\nagent "a" {\n  uses prompt "x"\n  model "m"\n  fallback "x"\n}\n';
    assert.deepEqual(check(wrongKind), ['t.ias:5:1: fallback agent "x" not found']);
  });
});
