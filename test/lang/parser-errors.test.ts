import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/lang/parser.ts';
import { formatDiagnostics } from '../../src/lang/diagnostics.ts';
import { HEADER, errs } from './helpers.ts';

/** Errors of HEADER + body (the body starts on line 2). */
const bodyErrs = (body: string): [number, number, string][] => errs(HEADER + body);

describe('parse errors at exact positions', () => {
  test('missing header: reported at the first token, statements still parsed', () => {
    const r = parse('\n  agent "a" {}\n', 't.ias');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.column, d.message, d.hint]),
      [[2, 3, "expected 'package' declaration at start of file", 'start the file with: package "name" version "0.1.0" lang "2.0"']],
    );
    assert.equal(r.file.header, undefined);
    assert.equal(r.file.statements.length, 1);
  });

  test('lang "1.0" is refused with a migrate hint', () => {
    const r = parse('package "p" version "1" lang "1.0"\n', 't.ias');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.column, d.message, d.hint]),
      [[1, 30, 'IntentLang 1.0 is no longer supported', "run 'agentspec migrate --to-v2' to upgrade this file"]],
    );
  });

  test('unexpected token at top level, with a hint listing declarations', () => {
    const r = parse(HEADER + '\nfoo "x"\n', 't.ias');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.column, d.message]),
      // One error for the statement, not one per token of it.
      [[3, 1, "unexpected token 'foo'"]],
    );
    assert.match(r.diagnostics[0]?.hint ?? '', /prompt, skill, agent/);
  });

  test('unexpected token inside each block kind', () => {
    const cases: [string, [number, number, string]][] = [
      ['prompt "p" {\n  model "x"\n}\n', [3, 3, "unexpected token 'model' in prompt block"]],
      ['skill "s" {\n  bogus\n}\n', [3, 3, "unexpected token 'bogus' in skill block"]],
      ['agent "a" {\n  model "m"\n  colour "red"\n}\n', [4, 3, "unexpected token 'colour' in agent block"]],
      ['secret "s" {\n  vault(X)\n}\n', [3, 3, "unexpected token 'vault' in secret block"]],
      ['policy "p" {\n  permit x\n}\n', [3, 3, "unexpected token 'permit' in policy block"]],
      ['server "s" {\n  port 1\n}\n', [3, 3, "unexpected token 'port' in server block"]],
      ['client "c" {\n  url "x"\n}\n', [3, 3, "unexpected token 'url' in client block"]],
      ['skill "s" { tool http {\n  binary "x"\n} }\n', [3, 3, "unexpected token 'binary' in tool http block"]],
      ['skill "s" { tool command {\n  method "x"\n} }\n', [3, 3, "unexpected token 'method' in tool command block"]],
      ['skill "s" { tool inline {\n  url "x"\n} }\n', [3, 3, "unexpected token 'url' in tool inline block"]],
      ['deploy "d" target "process" {\n  cpu "1"\n}\n', [3, 3, "unexpected token 'cpu' in deploy block"]],
      ['agent "a" { memory {\n  size 1\n} }\n', [3, 3, "unexpected token 'size' in memory block"]],
      ['deploy "d" target "process" { resources {\n  disk "1"\n} }\n', [3, 3, "unexpected token 'disk' in resources block"]],
      ['deploy "d" target "process" { health {\n  port 1\n} }\n', [3, 3, "unexpected token 'port' in health block"]],
      ['deploy "d" target "process" { autoscale {\n  maximum 1\n} }\n', [3, 3, "unexpected token 'maximum' in autoscale block"]],
      ['pipeline "p" { step "s" {\n  model "x"\n} }\n', [3, 3, "unexpected token 'model' in step block"]],
      ['agent "a" { on input {\n  shout "x"\n} }\n', [3, 3, "unexpected token 'shout' in on input block"]],
      ['agent "a" { eval { case c\n  weight 1\n} }\n', [3, 3, "unexpected token 'weight' in eval case block"]],
    ];
    for (const [body, first] of cases) {
      assert.deepEqual(bodyErrs(body)[0], first, body);
    }
  });

  test('secret and policy blocks give a hint', () => {
    const s = parse(HEADER + 'secret "s" { vault(X) }\n', 't.ias').diagnostics[0];
    assert.equal(s?.hint, 'expected env(NAME) or store(NAME)');
    const p = parse(HEADER + 'policy "p" { permit x }\n', 't.ias').diagnostics[0];
    assert.equal(p?.hint, 'expected deny, allow or require');
  });

  test('pipeline accepts only steps', () => {
    assert.deepEqual(bodyErrs('pipeline "p" {\n  agent "a"\n}\n')[0], [3, 3, "unexpected token 'agent' in pipeline block, expected 'step'"]);
  });

  test('validate and eval blocks hint at rule / case', () => {
    const v = parse(HEADER + 'agent "a" { validate {\n  check x\n} }\n', 't.ias').diagnostics[0];
    assert.deepEqual([v?.line, v?.column, v?.message, v?.hint], [3, 3, "unexpected token 'check' in validate block", "expected 'rule'"]);
    const e = parse(HEADER + 'agent "a" { eval {\n  test x\n} }\n', 't.ias').diagnostics[0];
    assert.deepEqual([e?.line, e?.column, e?.message, e?.hint], [3, 3, "unexpected token 'test' in eval block", "expected 'case'"]);
  });

  test('expected X, got Y for a missing brace', () => {
    assert.deepEqual(bodyErrs('prompt "p" content "x"\n')[0], [2, 12, "expected '{', got 'content'"]);
  });

  test('unclosed block at end of file', () => {
    assert.deepEqual(bodyErrs('agent "a" {\n  model "m"\n'), [[4, 1, "expected '}' to close the agent block opened at line 2, got end of file"]]);
  });

  test('expected string for <what>: the value on the next line is a newline', () => {
    assert.deepEqual(bodyErrs('agent "a" {\n  model\n    "m"\n}\n')[0], [3, 8, 'expected string for model, got newline']);
    assert.deepEqual(bodyErrs('agent "a" {\n  model claude\n}\n'), [[3, 9, "expected string for model, got 'claude'"]]);
  });

  test('expected string or identifier (NAME) rejects numbers and punctuation', () => {
    assert.deepEqual(bodyErrs('server "s" {\n  transport 5\n}\n'), [[3, 13, 'expected string or identifier for transport, got number 5']]);
    assert.deepEqual(bodyErrs('agent "a" { prompt , }\n'), [[2, 20, "expected string or identifier for prompt reference, got ','"]]);
    assert.deepEqual(bodyErrs('prompt "p" { metadata { k 42 } }\n'), [[2, 27, 'expected string or identifier for metadata value, got number 42']]);
  });

  test('numbers: expected number, invalid integer (Atoi), invalid float', () => {
    assert.deepEqual(bodyErrs('agent "a" {\n  max_turns "10"\n}\n'), [[3, 13, 'expected number for max_turns, got string "10"']]);
    assert.deepEqual(bodyErrs('agent "a" {\n  max_turns 0.5\n}\n'), [[3, 13, 'invalid integer for max_turns: "0.5"']]);
    assert.deepEqual(bodyErrs('deploy "d" target "process" {\n  port 2024-01-01\n}\n'), [[3, 8, 'invalid integer for port: "2024-01-01"']]);
    assert.deepEqual(bodyErrs('agent "a" {\n  temperature 1.2.3\n}\n'), [[3, 15, 'invalid float for temperature: "1.2.3"']]);
    assert.deepEqual(bodyErrs('agent "a" {\n  max_turns 99999999999999999999\n}\n'), [[3, 13, 'invalid integer for max_turns: "99999999999999999999"']]);
  });

  test('expected true/false', () => {
    assert.deepEqual(bodyErrs('agent "a" {\n  stream yes\n}\n'), [[3, 10, "expected true/false for stream, got 'yes'"]]);
  });

  test("uses needs 'prompt' or 'skill'", () => {
    assert.deepEqual(bodyErrs('agent "a" {\n  uses tool "x"\n}\n')[0], [3, 8, "expected 'prompt' or 'skill' after 'uses', got 'tool'"]);
  });

  test('tool type must be mcp, http, command or inline (reported at the word after tool)', () => {
    const r = parse(HEADER + 'skill "s" {\n  tool grpc {\n    url "x"\n  }\n  description "d"\n}\n', 't.ias');
    assert.deepEqual(r.diagnostics.map((d) => [d.line, d.column, d.message]), [[3, 8, "expected tool type (mcp, http, command, inline), got 'grpc'"]]);
    const s = r.file.statements[0];
    assert.ok(s?.kind === 'skill');
    assert.equal(s.tool?.type, '');
    assert.equal(s.description?.value, 'd');
  });

  test("deploy needs the 'target' keyword on its line", () => {
    assert.deepEqual(bodyErrs('deploy "d" {\n  port 1\n}\n'), [[2, 12, "expected 'target' keyword in deploy block, got '{'"]]);
    assert.deepEqual(bodyErrs('deploy "d"\n  target "process" {}\n')[0], [2, 11, "expected 'target' keyword in deploy block, got newline"]);
  });

  test("type needs '{', 'enum' or 'list' on the same line", () => {
    assert.deepEqual(bodyErrs('type "t" struct\n')[0], [2, 10, "expected '{', 'enum', or 'list' after type name, got 'struct'"]);
    assert.deepEqual(bodyErrs('type "t"\n{\n}\n')[0], [2, 9, "expected '{', 'enum', or 'list' after type name, got newline"]);
  });

  test("on needs 'input'; for each needs 'in'", () => {
    assert.deepEqual(bodyErrs('agent "a" {\n  on message { }\n}\n'), [[3, 6, "expected 'input' after 'on', got 'message'"]]);
    assert.deepEqual(bodyErrs('agent "a" { on input {\n  for each x of items { }\n} }\n'), [[3, 14, "expected 'in' in for each loop"]]);
  });

  test('a field without a type is an error (the next token is not swallowed)', () => {
    assert.deepEqual(bodyErrs('skill "s" {\n  input {\n    query\n  }\n}\n'), [[4, 10, 'expected type for input field "query", got newline']]);
    assert.deepEqual(bodyErrs('skill "s" { output { result } }\n'), [[2, 29, 'expected type for output field "result", got \'}\'']]);
    assert.deepEqual(bodyErrs('prompt "p" { variables {\n  name\n} }\n'), [[3, 7, 'expected type for variable "name", got newline']]);
    assert.deepEqual(bodyErrs('type "t" {\n  id\n}\n'), [[3, 5, 'expected type for field "id", got newline']]);
    assert.deepEqual(bodyErrs('agent "a" { config {\n  key\n} }\n'), [[3, 6, 'expected type for config parameter "key", got newline']]);
    // The next field survives.
    const r = parse(HEADER + 'skill "s" { input {\n  a\n  b string\n} }\n', 't.ias');
    const s = r.file.statements[0];
    assert.ok(s?.kind === 'skill');
    assert.deepEqual(s.input?.fields.map((f) => [f.name, f.type]), [['a', ''], ['b', 'string']]);
  });

  test('strlist: newline inside brackets and non-string items', () => {
    assert.deepEqual(bodyErrs('server "s" {\n  args ["a",\n  "b"]\n}\n')[0], [3, 13, "expected ']' to close the list for server args, got newline"]);
    assert.deepEqual(bodyErrs('server "s" {\n  args ["a", 1]\n}\n'), [[3, 14, 'expected string for server args, got number 1']]);
  });

  test('duplicate names: reported at the token after the name, duplicate dropped', () => {
    const r = parse(HEADER + 'agent "a" {\n  model "one"\n}\nagent "a" {\n  model "two"\n}\nprompt "a" {}\n', 't.ias');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.column, d.message, d.hint]),
      [[5, 11, 'duplicate Agent name "a"', 'Agent names must be unique within their kind']],
    );
    const agents = r.file.statements.filter((s) => s.kind === 'agent');
    assert.equal(agents.length, 1);
    assert.ok(agents[0]?.kind === 'agent' && agents[0].model?.value === 'one');
  });

  test('duplicate kind names in messages', () => {
    const kinds: [string, string][] = [
      ['prompt "x" {}', 'Prompt'],
      ['skill "x" {}', 'Skill'],
      ['binding "x" {}', 'Binding'],
      ['secret "x" {}', 'Secret'],
      ['environment "x" {}', 'Environment'],
      ['policy "x" {}', 'Policy'],
      ['server "x" {}', 'MCPServer'],
      ['client "x" {}', 'MCPClient'],
      ['deploy "x" target "process" {}', 'DeployTarget'],
      ['type "x" enum ["a"]', 'Type'],
      ['pipeline "x" {}', 'Pipeline'],
    ];
    for (const [decl, kind] of kinds) {
      const e = bodyErrs(`${decl}\n${decl}\n`);
      assert.deepEqual(e.map((x) => x[2]), [`duplicate ${kind} name "x"`], decl);
      assert.equal(e[0]?.[0], 3);
    }
  });

  test('one run reports lexer and parser errors together, in position order', () => {
    const r = parse(HEADER + 'agent "a" {\n  model = "m"\n  max_turns x\n  temperature @\n}\n', 't.ias');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.column, d.message]),
      [
        [3, 9, "unexpected character '='"],
        [4, 13, "expected number for max_turns, got 'x'"],
        [5, 15, "unexpected character '@'"],
        [5, 16, 'expected number for temperature, got newline'],
      ],
    );
    assert.equal(r.diagnostics[0]?.hint, "did you mean '=='?");
    const a = r.file.statements[0];
    assert.ok(a?.kind === 'agent' && a.model?.value === 'm');
  });

  test('on input nesting is bounded: reported once, parsing goes on after the block', () => {
    const depth = 70;
    const src = HEADER + 'agent "a" {\n  on input {\n' + 'if x {\n'.repeat(depth) + '}\n'.repeat(depth) + '  }\n  model "m"\n}\n';
    const r = parse(src, 't.ias');
    // The 64th `if` is at line 3 + 64; its `{` is where nesting stops.
    assert.deepEqual(r.diagnostics.map((d) => [d.line, d.column, d.message]), [[67, 6, 'on input statements nested more than 64 levels deep']]);
    const a = r.file.statements[0];
    assert.ok(a?.kind === 'agent' && a.model?.value === 'm');
  });

  test('errors carry the file path given to parse', () => {
    const r = parse('nope', 'dir/x.ias');
    assert.equal(r.diagnostics[0]?.file, 'dir/x.ias');
    assert.equal(r.diagnostics[0]?.severity, 'error');
  });

  test('an unknown attribute gets one error with "did you mean", and the rest of its line is skipped', () => {
    assert.deepEqual(bodyErrs('prompt "p" {\n  content "x"\n}\n\nagent "a" {\n  uses prompt "p"\n  modle "echo"\n}\n'), [
      [8, 3, "unknown attribute 'modle' in agent block; did you mean `model`?"],
    ]);
    assert.deepEqual(bodyErrs('prompt "p" {\n  contnt "x"\n}\n'), [[3, 3, "unknown attribute 'contnt' in prompt block; did you mean `content`?"]]);
    assert.deepEqual(bodyErrs('deploy "d" target "process" {\n  prot 8080\n}\n'), [[3, 3, "unknown attribute 'prot' in deploy block; did you mean `port`?"]]);
  });

  test('a missing } is one error naming the block and the line it was opened on', () => {
    const r = parse(HEADER + '\nprompt "p" {\n  content "x"\n\nagent "a" {\n  uses prompt "p"\n  model "echo"\n}\n', 't.ias');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.column, d.message]),
      [[6, 1, "expected '}' to close the prompt block opened at line 3, got 'agent'"]],
    );
    // The declaration after it is still parsed.
    assert.deepEqual(r.file.statements.map((st) => st.kind), ['prompt', 'agent']);
    // Nested blocks: still one error, for the innermost block.
    assert.deepEqual(
      parse(HEADER + '\nagent "a" {\n  memory {\n    strategy "window"\n\nprompt "p" {\n  content "x"\n}\n', 't.ias').diagnostics.map((d) => d.message),
      ["expected '}' to close the memory block opened at line 4, got 'prompt'"],
    );
  });

  test('a misspelled top-level keyword is one error with one suggestion; the next declaration parses', () => {
    const r = parse(HEADER + '\npromt "p" {\n  content "x"\n}\n\nagent "a" {\n  model "echo"\n}\n', 't.ias');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.column, d.message, d.hint]),
      [[3, 1, "unknown declaration 'promt'; did you mean `prompt`?", undefined]],
    );
    assert.deepEqual(r.file.statements.map((st) => st.kind), ['agent']);
  });

  test("the caret sits under the offending token's first column", () => {
    const source = HEADER + '\nagent "a" {\n  model "echo"\n\tmodle "echo"\n}\n';
    const r = parse(source, 't.ias');
    const text = formatDiagnostics(r.diagnostics, { color: false, source: () => source });
    assert.equal(text, "t.ias:5:2: error: unknown attribute 'modle' in agent block; did you mean `model`?\n  \tmodle \"echo\"\n  \t^\n");
  });
});
