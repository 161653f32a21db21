import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { compileSpec, lowerFile, type IRDocument } from '../../src/ir/index.ts';
import { KEYWORDS, format, lex, parse, type File } from '../../src/lang/index.ts';
import { formatFloat, quote } from '../../src/lang/format-words.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/intentlang/examples/', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/** `examples/<dir>/<file>.ias`, as paths relative to examples/. */
function exampleFiles(): string[] {
  return readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(EXAMPLES + d.name).filter((n) => n.endsWith('.ias')).map((n) => `${d.name}/${n}`))
    .sort();
}

function parseOk(source: string, name = 'test.ias'): File {
  const r = parse(source, name);
  assert.deepEqual(r.diagnostics, [], `${name} should parse without errors`);
  return r.file;
}

function fmt(source: string): string {
  return format(parseOk(source));
}

// Keys that only say where something was written or which of two equivalent spellings was used.
const POSITION_KEY = /^(pos|endLine|.*Pos)$/;
const SPELLING_KEYS = new Set(['form', 'keyword', 'hasTo', 'hasAgentKeyword', 'hasSkillKeyword', 'hasEach', 'parenthesized', 'text']);

function isKeyValue(v: unknown): v is { key: string; value: unknown } {
  return typeof v === 'object' && v !== null && typeof (v as { key?: unknown }).key === 'string' && 'value' in v;
}

/**
 * The tree without positions and spelling variants. Maps (kv blocks, binding config, use params)
 * become records (the formatter sorts keys and keeps the winning entry); environment targets become
 * the flat override list lowering sees.
 */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every(isKeyValue)) {
      const rec: Record<string, unknown> = {};
      for (const e of v) rec[e.key] = normalize(e.value);
      return rec;
    }
    return v.map(normalize);
  }
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) {
    if (POSITION_KEY.test(k) || SPELLING_KEYS.has(k) || k === 'comments' || k === 'path') continue;
    if (k === 'targets' && o.kind === 'environment') {
      out.overrides = (val as Array<{ kindWord: string; name: string; attributes: Array<{ attribute: string; value: string }> }>).flatMap((t) =>
        t.attributes.map((a) => [`${t.kindWord}/${t.name}`, a.attribute, a.value]),
      );
      continue;
    }
    if (k === 'entries' && Array.isArray(val) && val.every(isKeyValue)) return normalize(val);
    out[k] = normalize(val);
  }
  return out;
}

/** format is canonical: it reparses cleanly, to the same tree, and formatting again changes nothing. */
function assertRoundTrip(source: string, name: string): string {
  const first = parseOk(source, name);
  const once = format(first);
  const second = parseOk(once, `${name} (formatted)`);
  assert.deepEqual(normalize(second), normalize(first), `${name}: formatted text parses back to the same tree`);
  assert.equal(format(second), once, `${name}: formatting is idempotent`);
  return once;
}

const ALL_CONSTRUCTS = `// comment before the header
package "demo" lang "3.0" version "1.0"   # header trailing

import "./lib.ias" version "2" as lib
import "./other.ias" as "odd alias"
plugin "p" version "1"
agent "a" { # open trailing
  model "m"   # model trailing
  # before prompt
  prompt sys
  loop "plan-execute"
  temperature 0.70
  max_turns 007
  token_budget 1000
  max_retries 2
  timeout "30s"
  on_error "fallback"
  fallback "b"
  connects client "cl"
  uses skill "s1"
  uses skill "s2"
  metadata { z "1" a "2" }
  metadata { m "3" a "4" }
  delegate to agent "b"
  delegate agent "c" when "x"
  delegate "d" when ""
  stream false
  memory { max_messages 10 strategy "window" }
  config {
    k string required secret
    # between
      "desc"  # desc trailing
    n int default 5
    b bool default false
    s string default "a \\"b\\""
    w string default word
  }
  validate {
    rule r1 error max_retries 2
      "msg"
      when output != "" and
        input . items == "\\d{3}"
    rule r2 warning
  }
  eval {
    case c1
      input "i"  // input trailing
      expect "e"
      scoring contains threshold 0.80
      tags ["a", "b"]
    case c2 input "x" expect "y"
  }
  on input {
    # first stmt
    if input == "x" {
      use knowledge with { b: input.x, a: "q" }
      respond "hi there"
    } else if input == "y" { # elif
      delegate b
    } else if input == "z" {
      respond "a, b"
    } else {
      respond ok
      # end of else
    }
    for x in input.items {
      use skill s1
      respond x
    }
  }
  # end of agent
}   # close trailing

secret "s" { store("a/b") }
secret "t" { env TOKEN }
secret "u" { env(with) }

environment "dev" {
  agent "a" { model "x" }
  agent "a" { stream "true" }
  prompt "sys" { content "y" }
  agent "a" { temperature "0.5" }
  server "srv" { url "http://dev" }
}

policy "p1" {
  deny model claude-haiku-latest
  require tool "a/b" x
  allow "two  spaces"
  deny
}

binding "b" adapter "docker" {
  default
  zeta "1"
  "adapter" "x"
  "default" "y"
  alpha value
}
binding "b2" { adapter "k8s" default false }

deploy "d" target "kubernetes" {
  env { B "2" A "1" }
  secrets { X "y" }
  env { C "3" }
  autoscale { max 5 min 1 target 80 metric "cpu" }
  health { timeout "2s" interval "10s" path "/h" }
  resources { memory "1Gi" cpu "500m" }
  image "x:1"
  replicas 3
  namespace "ns"
  default false
  port 80
}
deploy "empty" target "docker" {
}

server "srv" { transport sse url "http://x" auth "s" exposes "s1" exposes skill "s2" env { K "v" } metadata { team "x" } }
server "std" { transport "stdio" command "npx" args ["-y" "pkg"] }
client "cl" { connects "srv" connects to server "std" metadata { k "v" } }

pipeline "pl" {
  step "a" { when "x" parallel true depends_on ["b" "c"] agent "a" output "o" input "i" }
  step "b" { agent "a" }
  step "c" { agent "a" depends_on [] }
}

type "t" enum ["x", "y"]
type "l" list string
type "f" {
  input string required default "x\\ty"
  "odd name" int
  required required
}

skill "s1" {
  execution command "x"
  description "tab\\there \\"q\\" back\\\\slash é 日本 \\d 🎉"
  input { required string "x y" int required input string }
  output { o string }
  tool http { headers { b "1" a "2" } url "u" method "GET" body_template "{}" timeout "3s" }
  metadata { owner "me" }
}
skill "s2" {
  description "d"
  input { i string }
  output { o string }
  tool command { secrets { T "t" } env { B "b" A "a" } timeout "1s" args ["x"] binary "b" }
}
skill "s3" {
  description "d"
  input { i string }
  output { o string }
  tool inline { memory "64Mi" timeout "1s" code "print(1)" language "python" }
}
skill "s4" {
  description "d"
  input { i string }
  output { o string }
  tool mcp "srv/search"
}

prompt "sys" {
  version "2"
  content "multi
line"
  variables {
    name string required
    input string default "x" required
  }
  metadata { k "v" }
}
# end of file 1
// end of file 2
`;

describe('format: canonical round trip', () => {
  for (const name of readdirSync(FIXTURES).filter((n) => n.endsWith('.ias')).sort()) {
    test(`fixture ${name} formats idempotently and reparses to the same tree`, () => {
      assertRoundTrip(readFileSync(FIXTURES + name, 'utf8'), name);
    });
  }

  test('a file using every construct round-trips', () => {
    const out = assertRoundTrip(ALL_CONSTRUCTS, 'all.ias');
    // Spelling variants are canonicalised.
    assert.match(out, /^ {2}uses prompt "sys"$/m);
    assert.match(out, /^ {2}strategy "plan-execute"$/m);
    assert.match(out, /^ {2}connects to client "cl"$/m);
    assert.match(out, /^ {4}for each x in input\.items \{$/m);
    assert.match(out, /^ {6}use skill knowledge with \{$/m);
    assert.match(out, /^ {6}delegate to b$/m);
    assert.match(out, /^ {2}exposes skill "s1"$/m);
    assert.match(out, /^ {2}connects to server "srv"$/m);
    assert.doesNotMatch(out, /\bloop\b/);
  });

  test('the repository examples are canonical', () => {
    const files = exampleFiles();
    assert.ok(files.includes('hello/hello.ias') && files.includes('support/support.ias'), files.join(', '));
    for (const f of files) {
      const source = readFileSync(EXAMPLES + f, 'utf8');
      assert.equal(fmt(source), source, `examples/${f} is not canonical`);
    }
  });
});

describe('format: layout', () => {
  test('header parts in fixed order, one empty line between statements, 2-space indent', () => {
    const out = fmt('package "x" lang "2.0" version "1"\nprompt "p" {content "c"}\n\n\n\nplugin "q"');
    assert.equal(out, 'package "x" version "1" lang "2.0"\n\nprompt "p" {\n  content "c"\n}\n\nplugin "q"\n');
  });

  test('agent attributes in the fixed order', () => {
    const out = fmt(`package "x" version "1" lang "3.0"
agent "a" {
  metadata { k "v" }
  on input { respond ok }
  eval { case c input "i" expect "e" }
  validate { rule r error }
  config { p string }
  delegate to agent "d"
  memory { strategy "s" }
  fallback "f"
  max_retries 1
  on_error "retry"
  stream true
  temperature 1.0
  token_budget 5
  timeout "1s"
  max_turns 2
  strategy "react"
  connects to client "c"
  model "m"
  uses skill "s"
  uses prompt "p"
}`);
    const keys = out
      .split('\n')
      .filter((l) => /^ {2}[^\s}]/.test(l))
      .map((l) => l.trim().split(' ').slice(0, 2).join(' '));
    assert.deepEqual(keys, [
      'uses prompt',
      'uses skill',
      'model "m"',
      'connects to',
      'strategy "react"',
      'max_turns 2',
      'timeout "1s"',
      'token_budget 5',
      'temperature 1',
      'stream true',
      'on_error "retry"',
      'max_retries 1',
      'fallback "f"',
      'memory {',
      'delegate to',
      'config {',
      'validate {',
      'eval {',
      'on input',
      'metadata {',
    ]);
    // A delegate without a condition gets no `when ""`.
    assert.match(out, /^ {2}delegate to agent "d"$/m);
  });

  test('deploy and pipeline step attributes in the fixed order', () => {
    const out = fmt(`package "x" version "1" lang "2.0"
deploy "d" target "docker" { secrets { s "1" } env { e "1" } autoscale { min 1 } health { path "/" } resources { cpu "1" } image "i" replicas 2 namespace "n" default true port 1 }
pipeline "p" { step "s" { when "w" parallel false depends_on ["t"] output "o" input "i" agent "a" } step "t" { agent "a" } }`);
    assert.equal(
      out,
      `package "x" version "1" lang "2.0"

deploy "d" target "docker" {
  port 1
  default true
  namespace "n"
  replicas 2
  image "i"
  resources {
    cpu "1"
  }
  health {
    path "/"
  }
  autoscale {
    min 1
  }
  env {
    e "1"
  }
  secrets {
    s "1"
  }
}

pipeline "p" {
  step "s" {
    agent "a"
    input "i"
    output "o"
    depends_on ["t"]
    parallel false
    when "w"
  }
  step "t" {
    agent "a"
  }
}
`,
    );
  });

  test('map keys are sorted by bytes and the last of a repeated key wins', () => {
    const out = fmt(`package "x" version "1" lang "2.0"
prompt "p" {
  content "c"
  metadata { zeta "1" Alpha "2" alpha "3" }
  metadata { zeta "4" "é" "5" "z" "6" "a b" "7" }
}`);
    assert.match(out, /metadata \{\n {4}Alpha "2"\n {4}"a b" "7"\n {4}alpha "3"\n {4}z "6"\n {4}zeta "4"\n {4}é "5"\n {2}\}/);
  });

  test('environment overrides: runs of one resource are grouped, the override order is kept', () => {
    const out = fmt(`package "x" version "1" lang "2.0"
environment "e" {
  agent "a" { model "m" }
  agent "a" { stream "true" }
  prompt "p" { content "c" }
  agent "a" { timeout "1s" }
}`);
    assert.equal(
      out,
      `package "x" version "1" lang "2.0"

environment "e" {
  agent "a" {
    model "m"
    stream "true"
  }
  prompt "p" {
    content "c"
  }
  agent "a" {
    timeout "1s"
  }
}
`,
    );
  });

  test('secrets: keys that are not plain words are quoted', () => {
    const out = fmt('package "x" version "1" lang "2.0"\nsecret "a" { store("team/key") }\nsecret "b" { env KEY }');
    assert.match(out, /^ {2}store\("team\/key"\)$/m);
    assert.match(out, /^ {2}env\(KEY\)$/m);
  });

  test('policy rules keep their words; words that are not single tokens are quoted', () => {
    const out = fmt('package "x" version "1" lang "2.0"\npolicy "p" {\n  deny model claude-haiku-latest\n  allow tool "a/b" 1.5 ==\n}');
    assert.match(out, /^ {2}deny model claude-haiku-latest$/m);
    assert.match(out, /^ {2}allow tool "a\/b" 1\.5 ==$/m);
  });

  test('a config parameter with a quoted name after one without description goes in its own block', () => {
    const src = 'package "x" version "1" lang "3.0"\nagent "a" {\n  uses prompt "p"\n  model "m"\n  config {\n    a string\n  }\n  config {\n    "b c" int\n  }\n}\n';
    const out = assertRoundTrip(src, 'config.ias');
    assert.equal(out, src.replace('lang "3.0"\n', 'lang "3.0"\n\n'));
  });

  test('numbers: ints as integers, floats in shortest form without exponent', () => {
    const out = fmt('package "x" version "1" lang "2.0"\nagent "a" { uses prompt "p" model "m" max_turns 010 temperature 0.50 }');
    assert.match(out, /^ {2}max_turns 10$/m);
    assert.match(out, /^ {2}temperature 0\.5$/m);
  });
});

describe('format: strings', () => {
  test('escapes, backslashes kept by the lexer, unicode and multi-line strings', () => {
    const src = 'package "x" version "1" lang "2.0"\nprompt "p" {\n  content "tab\\there \\"q\\" back\\\\slash \\d é 日本 🎉\nsecond"\n}\n';
    const out = fmt(src);
    assert.match(out, /^ {2}content "tab\\there \\"q\\" back\\\\slash \\\\d é 日本 🎉\\nsecond"$/m);
    const content = (parseOk(out).statements[0] as { content?: { value: string } }).content?.value;
    assert.equal(content, 'tab\there "q" back\\slash \\d é 日本 🎉\nsecond');
  });

  test('control characters stay raw (the language has no escape for them) and read back the same', () => {
    const value = 'a\rb\u0001c\u00a0d\u2028e';
    const out = fmt(`package "x" version "1" lang "2.0"\nprompt "p" {\n  content ${quote(value)}\n}\n`);
    const content = (parseOk(out).statements[0] as { content?: { value: string } }).content?.value;
    assert.equal(content, value);
  });

  test('property: quote(s) lexes back to one string token holding s', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ maxLength: 20 }), (a, b) => {
        const s = a + b;
        const r = lex(quote(s), 'q.ias');
        assert.deepEqual(r.diagnostics, []);
        const tokens = r.tokens.filter((t) => t.kind !== 'eof');
        assert.equal(tokens.length, 1);
        assert.equal(tokens[0]?.kind, 'string');
        assert.equal(tokens[0]?.text, s);
      }),
      { numRuns: process.env.CI === 'true' ? 2000 : 300 },
    );
  });

  test('property: formatFloat lexes as one number token with the same value', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e25, max: 1e25 }), (x) => {
        const text = formatFloat(x, String(x));
        const tokens = lex(text, 'n.ias').tokens.filter((t) => t.kind !== 'eof');
        assert.equal(tokens.length, 1, text);
        assert.equal(tokens[0]?.kind, 'number', text);
        assert.equal(Number(text), x === 0 ? 0 : x, text);
      }),
      { numRuns: process.env.CI === 'true' ? 5000 : 500 },
    );
  });
});

describe('format: expressions', () => {
  test('expressions are printed as rebuilt, and strings in them keep quotes and backslashes', () => {
    const src = `package "x" version "1" lang "3.0"
agent "a" {
  uses prompt "p"
  model "m"
  validate {
    rule r error
      when output matches "\\d{3}" and output != "say \\"hi\\"" and output != "a\\\\n"
  }
  on input {
    if input . text == "\\"" {
      use skill s with { q: "back\\\\slash", n: input.items [ 0 ] }
    } else if input != "tab\\t" {
      respond output . text
    }
    for each item in input . list {
      respond "x"
    }
  }
}
`;
    const out = assertRoundTrip(src, 'expr.ias');
    assert.match(out, /^ {6}when output matches "\\d\{3\}" and output != "say \\"hi\\"" and output != "a\\\\n"$/m);
    assert.match(out, /^ {4}if input\.text == "\\"" \{$/m);
    assert.match(out, /^ {8}n: input\.items \[ 0 \]$/m);
    assert.match(out, /^ {8}q: "back\\\\slash"$/m);
    assert.match(out, /^ {4}for each item in input\.list \{$/m);
    assert.match(out, /^ {6}respond output\.text$/m);
  });
});

describe('format: words in NAME/ANY slots', () => {
  /** A spec that puts `w` (written as a string) in every slot that takes a name or any token. */
  function specWith(w: string): string {
    const q = quote(w);
    return `package "x" version "1" lang "3.0"
import "./lib.ias" as ${q}
prompt "p" {
  content "c"
  variables {
    ${q} ${q} required
  }
  metadata { ${q} ${q} }
}
skill "s" {
  description "d"
  input { ${q} ${q} required ${q} ${q} }
  output { o string }
  tool command { binary "b" env { ${q} ${q} } }
  execution ${q} ${q}
}
agent "a" {
  prompt ${q}
  model "m"
  config {
    ${q} ${q} default ${q}
      ${q}
    last string
  }
  config {
    ${q} ${q}
  }
  validate {
    rule ${q} ${q}
      ${q}
    rule r error
      when output == ${q} and
        input . x != ${q}
  }
  eval {
    case ${q} input ${q} expect ${q} scoring ${q} threshold 0.5 tags [${q}]
  }
  on input {
    use skill ${q} with { ${q}: x, k: ${q} }
    if input == ${q} {
      respond x == ${q}
    } else if ${q} != input {
      respond ${q}
    }
    delegate to ${q}
    respond ${q}
    for each ${q} in items . ${q} {
      respond ok
    }
  }
}
secret "sec" { store(${q}) }
environment "e" {
  ${q} ${q} { ${q} ${q} }
}
policy "pol" {
  deny ${q} ${q} ${q}
}
binding "b" {
  adapter "a"
  ${q} ${q}
}
type "t" list ${q}
type "u" {
  ${q} ${q} default ${q}
}
`;
  }

  test('property: any word, quoted or bare, reads back the same after formatting', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom(...KEYWORDS, 'expect', 'max_messages', 'min', 'max', 'path', 'cpu'), fc.constantFrom('required', 'default', 'adapter', 'model', '}', '{', 'a/b', '==', '123', 'true', 'rule', 'case', 'é', 'x y')), (w) => {
        const source = specWith(w);
        const r = parse(source, 'w.ias');
        // Some words cannot be written in some slots at all (e.g. a quoted name where the grammar
        // reads a description); only what parses cleanly is a formatting question.
        fc.pre(r.diagnostics.length === 0);
        assertRoundTrip(source, `word ${JSON.stringify(w)}`);
      }),
      { numRuns: process.env.CI === 'true' ? 1000 : 200 },
    );
  });
});

describe('format: comments', () => {
  const SOURCE = `# before the header
// second line before the header
package "c" version "1" lang "3.0" # after the header

# before the agent
agent "a" { # after the open brace
  model "m" # after model
  # before uses prompt
  uses prompt "p"
  memory {
    strategy "s" # inside memory
    # end of memory
  }
  on input {
    if input == "x" { # after if
      respond a
    } else { # after else
      # end of else
    }
  }
  # end of agent
} # after the close brace

// end of file
`;
  const EXPECTED = `# before the header
// second line before the header
package "c" version "1" lang "3.0" # after the header

# before the agent
agent "a" { # after the open brace
  # before uses prompt
  uses prompt "p"
  model "m" # after model
  memory {
    strategy "s" # inside memory
    # end of memory
  }
  on input {
    if input == "x" { # after if
      respond a
    } else { # after else
      # end of else
    }
  }
  # end of agent
} # after the close brace

// end of file
`;

  test('comments stay beside what they were written next to, in every position', () => {
    assert.equal(fmt(SOURCE), EXPECTED);
    assert.equal(fmt(EXPECTED), EXPECTED);
  });

  test('own-line comments move with attributes the formatter reorders', () => {
    const out = fmt(`package "x" version "1" lang "2.0"
deploy "d" target "process" {
  # about health
  health { path "/h" }
  # about the port
  port 80 # trailing port
}
`);
    assert.equal(
      out,
      `package "x" version "1" lang "2.0"

deploy "d" target "process" {
  # about the port
  port 80 # trailing port
  # about health
  health {
    path "/h"
  }
}
`,
    );
  });

  test('a comment after a multi-line string stays on the (now single) line of its attribute', () => {
    const out = fmt('package "x" version "1" lang "2.0"\nprompt "p" {\n  content "one\ntwo\nthree" # about content\n  version "1"\n}\n');
    assert.match(out, /^ {2}content "one\\ntwo\\nthree" # about content$/m);
  });

  test('a comment on a line the formatter drops (an overridden attribute) is kept', () => {
    const out = fmt('package "x" version "1" lang "2.0"\nagent "a" {\n  model "old" # was old\n  uses prompt "p"\n  model "new"\n}\n');
    assert.match(out, /# was old/);
    assert.doesNotMatch(out, /old"/);
  });

  test('property: comments anywhere in the all-constructs file survive once and formatting is stable', () => {
    const lines = ALL_CONSTRUCTS.split('\n');
    // Not inside the multi-line string (a `#` there is text, not a comment).
    const insideString = new Set([lines.findIndex((l) => l.includes('content "multi')) + 1]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(lines.length - 1), fc.boolean()), { maxLength: 25 }), (picks) => {
        const own = new Map<number, string[]>();
        const trailing = new Map<number, string>();
        const texts: string[] = [];
        picks.forEach(([i, isTrailing], n) => {
          const l = lines[i] ?? '';
          if (insideString.has(i) || l.trim() === '') return;
          if (isTrailing) {
            if (trailing.has(i)) return;
            trailing.set(i, `# t${n}!`);
            texts.push(`# t${n}!`);
          } else {
            own.set(i, [...(own.get(i) ?? []), `// o${n}!`]);
            texts.push(`// o${n}!`);
          }
        });
        const source = lines
          .map((l, i) => [...(own.get(i) ?? []), trailing.has(i) ? `${l} ${trailing.get(i)}` : l].join('\n'))
          .join('\n');
        const once = assertRoundTrip(source, 'commented-all.ias');
        for (const t of texts) assert.equal(once.split(t).length - 1, 1, `"${t}" appears once in\n${once}`);
      }),
      { numRuns: process.env.CI === 'true' ? 1000 : 150 },
    );
  });

  test('every comment of every fixture survives formatting, once, and the result is stable', () => {
    for (const name of readdirSync(FIXTURES).filter((n) => n.endsWith('.ias')).sort()) {
      const lines = readFileSync(FIXTURES + name, 'utf8').split('\n');
      const texts: string[] = [];
      const commented = lines
        .map((l, i) => {
          if (l.trim() === '') return l;
          const own = `# own ${i}!`;
          const trailing = `// trailing ${i}!`;
          texts.push(own, trailing);
          const indent = /^ */.exec(l)?.[0] ?? '';
          return `${indent}${own}\n${l} ${trailing}`;
        })
        .join('\n');
      const once = assertRoundTrip(commented, name);
      for (const t of texts) {
        assert.equal(once.split(t).length - 1, 1, `${name}: "${t}" appears once`);
      }
    }
  });
});

describe('format: the lowered IR never changes', () => {
  const fixtureNames = readdirSync(FIXTURES).filter((n) => n.endsWith('.ias')).sort();

  test('every fixture and the all-constructs file lower to the same document before and after formatting', () => {
    const sources: Array<[string, string]> = [...fixtureNames.map((n): [string, string] => [n, readFileSync(FIXTURES + n, 'utf8')]), ['all.ias', ALL_CONSTRUCTS]];
    for (const [name, source] of sources) {
      const before = lowerFile(parseOk(source, name));
      const after = lowerFile(parseOk(format(parseOk(source, name)), name));
      assert.deepEqual(after, before, `${name}: IR changed`);
      assert.ok((before.resources ?? []).length > 0 || name === 'knowledge-base.ias' || before.deploy_targets !== undefined, `${name}: lowered something`);
    }
  });

  test('the repository examples validate and run locally (echo model, process target with a port)', async () => {
    for (const f of exampleFiles()) {
      const compiled = await compileSpec([EXAMPLES + f]);
      assert.deepEqual(compiled.diagnostics, [], `examples/${f} validates`);
      const doc = compiled.documents[0];
      assert.ok(doc !== undefined);
      for (const r of (doc.resources ?? []).filter((x) => x.kind === 'Agent')) assert.match(String(r.attributes.model), /^echo/);
      assert.equal(doc.deploy_targets?.[0]?.target, 'process');
      assert.equal(typeof doc.deploy_targets?.[0]?.config?.port, 'number');
    }
  });

  test('compileSpec over formatted copies of the fixtures (imports resolved, validated, environments applied) gives the same FQNs and hashes', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-fmt-ir-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const original = path.join(dir, 'original');
    const formatted = path.join(dir, 'formatted');
    await mkdir(original);
    await mkdir(formatted);
    let compiled = 0;
    for (const n of fixtureNames) {
      const source = readFileSync(FIXTURES + n, 'utf8');
      await writeFile(path.join(original, n), source);
      await writeFile(path.join(formatted, n), format(parseOk(source, n)));
    }
    const summary = (docs: IRDocument[]): string[][] =>
      docs.map((d) => [d.package.name, ...(d.resources ?? []).map((r) => `${r.fqn} ${r.hash}`), JSON.stringify(d.deploy_targets ?? [])]);
    for (const n of fixtureNames) {
      for (const env of [undefined, 'dev', 'prod']) {
        const a = await compileSpec([path.join(original, n)], env === undefined ? {} : { env });
        const b = await compileSpec([path.join(formatted, n)], env === undefined ? {} : { env });
        assert.deepEqual(
          b.diagnostics.map((d) => d.message),
          a.diagnostics.map((d) => d.message),
          `${n} env=${env}: same diagnostics`,
        );
        assert.deepEqual(summary(b.documents), summary(a.documents), `${n} env=${env}: same FQNs and hashes`);
        compiled += a.documents.length;
      }
    }
    // Every fixture compiles without an environment; the two with dev/prod environments also with them.
    assert.ok(compiled >= fixtureNames.length + 4, `compiled ${compiled} documents`);
  });
});
