import { createHook } from 'node:async_hooks';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, irDoc, startTestServer } from './fixtures.ts';

// An agent timeout no other timer in the process uses, so the timers it arms can be told apart.
const TIMEOUT = '7m';
const TIMEOUT_MS = 7 * 60_000;
const REQUESTS = 50;

test('an answered request leaves no timer behind (the agent timeout is cleared, not left to run)', async () => {
  const live = new Map<number, object>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type === 'Timeout') live.set(id, resource);
    },
    destroy(id) {
      live.delete(id);
    },
  });
  const deadlineTimers = (): number => [...live.values()].filter((t) => (t as { _idleTimeout?: number })._idleTimeout === TIMEOUT_MS).length;
  const srv = await startTestServer([irDoc({ agents: [{ name: 'bot', attrs: { timeout: TIMEOUT } }] })]);
  hook.enable();
  try {
    const s = await call(`${srv.url}/v1/agents/bot/sessions`, 'POST', {});
    for (let i = 0; i < REQUESTS; i++) {
      const stateless = await call(`${srv.url}/v1/agents/bot/invoke`, 'POST', { message: `hello ${i}` });
      assert.equal(stateless.status, 200);
      const session = await call(`${srv.url}/v1/agents/bot/sessions/${String(s.body.session_id)}`, 'POST', { message: `again ${i}` });
      assert.equal(session.status, 200);
    }
    assert.equal(deadlineTimers(), 0, `${deadlineTimers()} agent-timeout timers still armed after ${2 * REQUESTS} answered requests`);
  } finally {
    hook.disable();
    await srv.close();
  }
});

test('an echo turn arms no timer for the agent timeout: the deadline is a time it checks, and a timer only once something waits on the signal', async () => {
  let armed = 0;
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      const ms = (resource as { _idleTimeout?: number })._idleTimeout;
      // The deadline's timer is armed for what is left of the timeout: at most the timeout itself.
      if (type === 'Timeout' && ms !== undefined && ms > TIMEOUT_MS - 60_000 && ms <= TIMEOUT_MS) armed++;
    },
  });
  const srv = await startTestServer([irDoc({ agents: [{ name: 'bot', attrs: { timeout: TIMEOUT } }] })]);
  hook.enable();
  try {
    const s = await call(`${srv.url}/v1/agents/bot/sessions`, 'POST', {});
    for (let i = 0; i < REQUESTS; i++) {
      assert.equal((await call(`${srv.url}/v1/agents/bot/invoke`, 'POST', { message: `hello ${i}` })).status, 200);
      assert.equal((await call(`${srv.url}/v1/agents/bot/sessions/${String(s.body.session_id)}`, 'POST', { message: `again ${i}` })).status, 200);
    }
    assert.equal(armed, 0, `${armed} agent-timeout timers armed for ${2 * REQUESTS} echo turns`);
  } finally {
    hook.disable();
    await srv.close();
  }
});
