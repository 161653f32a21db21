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
const fields = { method: 'POST', path: '/v1/agents/a "quoted"\\u2028/in\\\\vo\\u0001ke', route: '/v1/agents/:name/invoke', status: 200, duration_ms: 3, agent: 'a', session_id: 'sess_é\\t' };
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
  assert.equal(direct!.path, '/v1/agents/a "quoted"\u2028/in\\vo\u0001ke');
  assert.equal(direct!.session_id, 'sess_é\t');
  assert.equal(direct!.pid, run.pid);
});

/** Runs `body` after JSON logging is configured, in a child; returns its stderr lines (parsed) and how it ended. */
function child(body: string): { lines: Array<Record<string, unknown>>; status: number | null; signal: NodeJS.Signals | null } {
  const script = `
import { configureLogging, logTraffic, logger } from ${JSON.stringify(LOG)};
configureLogging({ format: 'json', level: 'info' });
const line = (i) => logTraffic('http', 'info', { method: 'POST', path: '/v1/agents/a/invoke', route: '/v1/agents/:name/invoke', status: 200, duration_ms: i, agent: 'a' }, 'request');
${body}
`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, AGENTSPEC_LOG_LEVEL: '' } });
  const lines = run.stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, status: run.status, signal: run.signal };
}

test('request lines that wait are written before any other line, and at exit', () => {
  const run = child(`line(1); line(2); line(3); logger('runtime').warn('between'); line(4); line(5);`);
  assert.equal(run.status, 0);
  assert.deepEqual(
    run.lines.map((l) => l.msg === 'request' ? l.duration_ms : l.msg),
    [1, 2, 3, 'between', 4, 5],
  );
});

test('request lines are written once they fill a batch, and within 100 ms otherwise (a SIGKILL after that loses none)', () => {
  // 2,000 lines of ~200 bytes fill several 64 KiB batches; the rest waits, then the timer writes it.
  const run = child(`for (let i = 0; i < 2000; i++) line(i); setTimeout(() => process.kill(process.pid, 'SIGKILL'), 400);`);
  assert.equal(run.signal, 'SIGKILL');
  assert.deepEqual(
    run.lines.map((l) => l.duration_ms),
    Array.from({ length: 2000 }, (_, i) => i),
  );
  // Killed at once, only whole batches were written: the last lines were still waiting.
  const cut = child(`for (let i = 0; i < 2000; i++) line(i); process.kill(process.pid, 'SIGKILL');`);
  assert.equal(cut.signal, 'SIGKILL');
  assert.ok(cut.lines.length > 0 && cut.lines.length < 2000, `${cut.lines.length} lines`);
  assert.deepEqual(
    cut.lines.map((l) => l.duration_ms),
    Array.from({ length: cut.lines.length }, (_, i) => i),
  );
});
