import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSecretsFile, parseDotenv, Redactor, resolveSecrets, SecretError, SecretsFileError } from '../../src/tools/index.ts';
import { secretResource, skillDoc } from './helpers.ts';

describe('secrets', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-secrets-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const docWith = (...secrets: Array<[string, 'env' | 'store', string]>) => skillDoc({}, secrets.map(([n, s, k]) => secretResource(n, s, k)));

  test('env(NAME) resolves from the environment; a missing variable names the secret and the variable', async () => {
    const got = await resolveSecrets([docWith(['api', 'env', 'MY_API_KEY'])], { env: { MY_API_KEY: 'v1' } });
    assert.equal(got.get('api'), 'v1');
    await assert.rejects(resolveSecrets([docWith(['api', 'env', 'MY_API_KEY'])], { env: {} }), (err: unknown) => {
      assert.ok(err instanceof SecretError);
      assert.equal(err.secret, 'api');
      assert.match(err.message, /secret "api": environment variable MY_API_KEY is not set/);
      return true;
    });
  });

  test('store(KEY) without a secrets file fails clearly', async () => {
    await assert.rejects(resolveSecrets([docWith(['db', 'store', 'prod/db'])], { env: {} }), /secret "db": store\(prod\/db\) needs a secrets store: pass --secrets-file/);
  });

  test('store(KEY) from a JSON file and from a dotenv file, both mode 0600', async () => {
    const json = path.join(dir, 'secrets.json');
    await writeFile(json, JSON.stringify({ 'prod/db': 'pg-pass', other: 'x' }), { mode: 0o600 });
    assert.equal((await resolveSecrets([docWith(['db', 'store', 'prod/db'])], { env: {}, secretsFile: json })).get('db'), 'pg-pass');
    const dotenv = path.join(dir, 'secrets.env');
    await writeFile(dotenv, '# comment\nexport TOKEN="a \\"quoted\\" value"\nPLAIN=abc # trailing\nSINGLE=\'x y\'\n', { mode: 0o600 });
    const got = await resolveSecrets([docWith(['t', 'store', 'TOKEN'], ['p', 'store', 'PLAIN'], ['s', 'store', 'SINGLE'])], { env: {}, secretsFile: dotenv });
    assert.deepEqual([got.get('t'), got.get('p'), got.get('s')], ['a "quoted" value', 'abc', 'x y']);
    await assert.rejects(resolveSecrets([docWith(['m', 'store', 'NOPE'])], { env: {}, secretsFile: dotenv }), /secret "m": key "NOPE" is not in the secrets file/);
  });

  test('a secrets file others can read is refused, naming the mode and the fix', async () => {
    const file = path.join(dir, 'open.json');
    await writeFile(file, '{"a":"b"}');
    await chmod(file, 0o644);
    await assert.rejects(loadSecretsFile(file), (err: unknown) => err instanceof SecretsFileError && /mode 0644 lets others read it; run `chmod 600/.test(err.message));
    await chmod(file, 0o600);
    assert.equal((await loadSecretsFile(file)).get('a'), 'b');
  });

  test('malformed files are errors that name the file', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{"a": 1}', { mode: 0o600 });
    await assert.rejects(loadSecretsFile(bad), /bad\.json: "a" must be a string/);
    assert.throws(() => parseDotenv('not a pair'), /line 1 is not KEY=value/);
    await assert.rejects(loadSecretsFile(path.join(dir, 'absent.json')), /cannot read the secrets file/);
  });

  test('the redactor hides every secret value, longest first', () => {
    const r = new Redactor(['abc', 'abcdef', '']);
    assert.equal(r.redact('x abcdef y abc z'), 'x [REDACTED] y [REDACTED] z');
  });
});
