import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LOG = fileURLToPath(new URL('../../src/log.ts', import.meta.url));

// A child process, since the JSON destination is the process's stderr: one request line through
// logTraffic and one through the component's pino logger, then the debug line that is filtered.
const SCRIPT = `
import { configureLogging, logTraffic, logger } from ${JSON.stringify(LOG)};
configureLogging({ format: 'json', level: 'info' });
logger('http').warn('first');
const fields = { method: 'POST', path: '/v1/agents/a "quoted"\\u2028/invoke', route: '/v1/agents/:name/invoke', status: 200, duration_ms: 3, agent: 'a' };
logTraffic('http', 'info', fields, 'request');
logger('http').info(fields, 'request');
logTraffic('http', 'debug', { method: 'GET', path: '/healthz', route: '/healthz', status: 200, duration_ms: 0 }, 'request');
`;

test('a request line written directly is the line pino writes for the same record, and filtered levels write nothing', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], { encoding: 'utf8', env: { ...process.env, AGENTSPEC_LOG_LEVEL: '' } });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 3, run.stderr);
  const [warn, direct, viaPino] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(warn!.msg, 'first');
  // Same keys in the same order, same values; only the time may differ.
  const withoutTime = (r: Record<string, unknown>): Array<[string, unknown]> => Object.entries(r).filter(([k]) => k !== 'time');
  assert.deepEqual(withoutTime(direct!), withoutTime(viaPino!));
  assert.equal(typeof direct!.time, 'number');
  assert.equal(direct!.path, '/v1/agents/a "quoted"\u2028/invoke');
  assert.equal(direct!.pid, run.pid);
});
