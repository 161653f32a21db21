// The runtime child that `apply` starts gets an allowlisted environment, not the user's whole one:
// checked on the real process, through /proc/PID/environ.
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childEnv } from '../../src/adapters/child-env.ts';
import { freePort } from '../helpers/services.ts';
import { irDoc } from '../runtime/fixtures.ts';
import { makeWorkspace } from '../apply/support.ts';

function environOf(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0) out[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return out;
}

test('apply starts the runtime with provider keys, AGENTSPEC_*, and what the spec names; nothing else', { timeout: 180_000 }, async () => {
  const ws = makeWorkspace('agentspec-childenv-');
  try {
    const port = await freePort();
    const spec = `${ws.dir}/envpkg.ias`;
    writeFileSync(
      spec,
      [
        'package "envpkg" version "0.1.0" lang "2.0"',
        '',
        'prompt "p" {',
        '  content "hi"',
        '}',
        '',
        'agent "a" {',
        '  uses prompt "p"',
        '  model "echo"',
        '}',
        '',
        'secret "gh" {',
        '  env(SKILL_GITHUB_TOKEN)',
        '}',
        '',
        'deploy "local" target "process" {',
        `  port ${port}`,
        '  env {',
        '    SPEC_SETTING "x"',
        '  }',
        '  secrets {',
        '    SPEC_DB_PASSWORD "db"',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const r = await ws.cli(['apply', '--auto-approve', spec], {
      env: {
        AWS_SECRET_ACCESS_KEY: 'aws-should-not-pass',
        GITHUB_TOKEN: 'gh-should-not-pass',
        ANTHROPIC_API_KEY: 'sk-ant-passes',
        OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
        AGENTSPEC_RATE_LIMIT_NOTE: 'passes',
        REDIS_URL: 'redis://127.0.0.1:6379',
        SPEC_SETTING: 'from-user',
        SPEC_DB_PASSWORD: 'db-passes',
        SKILL_GITHUB_TOKEN: 'skill-passes',
        LC_ALL: 'C.UTF-8',
      },
    });
    assert.equal(r.code, 0, r.stderr);
    const pid = ws.readState().entries.find((e) => e.runtime !== undefined)?.runtime?.pid;
    assert.ok(pid !== undefined, JSON.stringify(ws.readState()));
    const env = environOf(pid);
    for (const k of ['AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN']) assert.equal(env[k], undefined, `${k} reached the runtime`);
    assert.equal(env.ANTHROPIC_API_KEY, 'sk-ant-passes');
    assert.equal(env.OPENAI_BASE_URL, 'http://127.0.0.1:9/v1');
    assert.equal(env.AGENTSPEC_RATE_LIMIT_NOTE, 'passes');
    assert.equal(env.REDIS_URL, 'redis://127.0.0.1:6379');
    assert.equal(env.SPEC_SETTING, 'from-user');
    assert.equal(env.SPEC_DB_PASSWORD, 'db-passes');
    assert.equal(env.SKILL_GITHUB_TOKEN, 'skill-passes');
    assert.equal(env.LC_ALL, 'C.UTF-8');
    assert.ok(env.PATH !== undefined && env.PATH !== '');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await ws.cli(['destroy', '--auto-approve', spec])).code, 0);
  } finally {
    await ws.cleanup();
  }
});

test('childEnv keeps only the allowlist and the names a document asks for', () => {
  const doc = irDoc({ agents: [{ name: 'a' }] });
  doc.deploy_targets = [{ name: 'd', target: 'process', config: { env: { ONE: 'x' }, secrets: { TWO: 'y' } } }];
  const env = childEnv({ ONE: '1', TWO: '2', THREE: '3', HOME: '/h', AGENTSPEC_X: 'x', LC_TIME: 'C', OPENAI_API_KEY: 'k', SSH_AUTH_SOCK: '/s' }, doc);
  assert.deepEqual(Object.keys(env).sort(), ['AGENTSPEC_X', 'HOME', 'LC_TIME', 'ONE', 'OPENAI_API_KEY', 'TWO']);
});
