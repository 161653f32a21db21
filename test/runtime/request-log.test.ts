import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/services.ts';
import { explain, makeWorkspace } from '../apply/support.ts';
import { call } from './fixtures.ts';

/**
 * The runtime's log file as `logs` prints it (the readable format): one line per record,
 * `[time] LEVEL (pid): msg {fields as JSON}`.
 */
function textLogRecords(text: string): Array<Record<string, unknown>> {
  const records: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    const head = /^\[[\d:.]+\] (\w+) \((\d+)\): (.*?)(?: (\{.*\}))?$/.exec(line);
    if (head === null) continue;
    const fields = head[4] === undefined ? {} : (JSON.parse(head[4]) as Record<string, unknown>);
    records.push({ ...fields, level: head[1], pid: Number(head[2]), msg: head[3] });
  }
  return records;
}

const ws = makeWorkspace('agentspec-request-log-');
after(async () => {
  await ws.cleanup();
});

test('a deployed runtime logs one info line per request, which `logs` shows', { timeout: 180_000 }, async () => {
  const port = await freePort();
  const file = ws.writeSpec('traffic', port);
  const applied = await ws.cli(['--log-level', 'info', 'apply', '--auto-approve', file]);
  assert.equal(applied.code, 0, explain(applied));
  const base = `http://127.0.0.1:${port}`;
  const created = await call(`${base}/v1/agents/a0/sessions`, 'POST', {});
  assert.equal(created.status, 201);
  const sid = String(created.body.session_id);
  assert.equal((await call(`${base}/v1/agents/a0/sessions/${sid}`, 'POST', { message: 'hi' })).status, 200);
  assert.equal((await call(`${base}/v1/agents/ghost/invoke`, 'POST', { message: 'hi' })).status, 404);

  // The runtime writes its log file itself: wait until the last request's line is there.
  let lines: Array<Record<string, unknown>> = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const logs = await ws.cli(['logs', 'traffic', '--tail', '200']);
    assert.equal(logs.code, 0, explain(logs));
    lines = textLogRecords(logs.stdout).filter((l) => l.msg === 'request');
    if (lines.some((l) => l.agent === 'ghost')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const turn = lines.find((l) => l.route === '/v1/agents/:name/sessions/:id');
  assert.ok(turn !== undefined, JSON.stringify(lines));
  assert.equal(turn.level, 'INFO');
  assert.equal(turn.method, 'POST');
  assert.equal(turn.path, `/v1/agents/a0/sessions/${sid}`);
  assert.equal(turn.status, 200);
  assert.equal(turn.agent, 'a0');
  assert.equal(turn.session_id, sid);
  assert.equal(typeof turn.duration_ms, 'number');
  const missing = lines.find((l) => l.agent === 'ghost');
  assert.equal(missing?.status, 404);
  assert.equal(missing?.route, '/v1/agents/:name/invoke');
  // The health polls of apply are not traffic.
  assert.ok(!lines.some((l) => l.route === '/healthz'), 'health checks are not logged at info');

  const destroyed = await ws.cli(['destroy', '--auto-approve', file]);
  assert.equal(destroyed.code, 0, explain(destroyed));
});
