import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { check, HEADER } from './check.ts';

const agent = (body: string): string => `${HEADER}prompt "p" {\n  content "x"\n}\nagent "a" {\n  uses prompt "p"\n  model "m"\n${body}}\n`;

describe('[3.0] expressions of validate rules and on input', () => {
  test('valid forms give no diagnostics', () => {
    const src = agent(
      '  validate {\n    rule r error max_retries 2\n      "m"\n      when len(output) <= 500 and not (output matches "\\d{3}") and isJSON(output)\n  }\n' +
        '  on input {\n    if input.kind == "x" or input contains "y" {\n      respond "ok {{ upper(input) }}"\n    } else if config.max >= 2 {\n      respond input\n    }\n' +
        '    for each item in fromJSON(input) {\n      respond item\n    }\n  }\n',
    );
    assert.deepEqual(check(src), []);
  });

  test('each unsupported form is an error at the expression, naming it and the column', () => {
    const src = agent(
      '  validate {\n    rule r1 error\n      "m"\n      when length(output) < 3\n    rule r2 warning\n      "m"\n      when output matches "(["\n    rule r3 warning\n      "m"\n      when output == "say \\"hi\\""\n  }\n' +
        '  on input {\n    if inptu == "x" {\n      respond this , that\n    }\n    for each input in [1, 2] {\n      respond "n: {{ nope }}"\n    }\n    use skill s with { q: output > }\n    for each w in steps {\n      respond w.name\n    }\n    respond w\n  }\n',
    );
    assert.deepEqual(check(src), [
      't.ias:26:5: skill "s" not found',
      't.ias:11:12: rule r1 when `length ( output ) < 3`: unknown function "length" (known: len, lower, upper, trim, split, isJSON, fromJSON, toJSON, string, number) at column 1 of the expression',
      't.ias:14:12: rule r2 when `output matches "(["`: invalid regular expression "([": Invalid regular expression: /([/u: Unterminated character class at column 16 of the expression',
      't.ias:17:12: rule r3 when `output == "say "hi""`: a string in an expression cannot hold a double quote',
      't.ias:20:8: if condition `inptu == "x"`: unknown variable "inptu" (known: input, output, steps, variables, config) at column 1 of the expression',
      't.ias:21:7: respond `this , that`: unexpected "," at column 6 of the expression',
      't.ias:23:14: for each variable "input" hides the variable of that name; choose another name',
      't.ias:24:7: respond `n: {{ nope }}`: in placeholder {{ nope }}: unknown variable "nope" (known: input, output, steps, variables, config) at column 4 of the expression',
      't.ias:26:27: use s with q: `output >`: unexpected end of expression at column 9 of the expression',
      't.ias:30:5: respond `w`: unknown variable "w" (known: input, output, steps, variables, config) at column 1 of the expression',
    ]);
  });
});
