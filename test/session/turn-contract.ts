import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  beginTurn,
  FencedAppendError,
  IdempotencyConflictError,
  IdempotencyKeyUsedError,
  InvalidMessageRangeError,
  SessionBusyError,
  SessionNotFoundError,
  TurnSupersededError,
  type BeginTurnRequest,
  type Message,
  type SessionStore,
} from '../../src/session/index.ts';
import { withStore, type ContractTarget } from './contract.ts';

const user = (content: string): Message => ({ role: 'user', content });
const answer = (content: string): Message => ({ role: 'assistant', content });

/** Lease, fence, queue, seq and idempotency: what every store promises for one writer per session. */
export function turnContract(name: string, target: ContractTarget): void {
  const agent = (): string => `turns-${Math.random().toString(36).slice(2, 10)}`;

  const withTarget = (t: TestContext, fn: (s: SessionStore) => Promise<void>): Promise<void> => withStore(target, t, fn);


  const ask = (token: string, over: Partial<BeginTurnRequest> = {}): BeginTurnRequest => ({ token, leaseTtlMs: 30_000, mode: 'enqueue', waiterTtlMs: 30_000, ...over });

  test(`${name}: every stored message gets the next seq; afterSeq and tail page by it`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agent());
      assert.equal(await s.appendMessages(id, [user('a'), answer('b')]), 2);
      // A seq handed in is the caller's and is ignored: the store numbers.
      assert.equal(await s.appendMessages(id, [{ ...user('c'), seq: 99 }, answer('d'), user('e')]), 5);
      const all = await s.loadMessages(id);
      assert.deepEqual(all.messages.map((m) => [m.seq, m.content]), [[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd'], [5, 'e']]);
      const after = await s.loadMessages(id, { afterSeq: 2, limit: 2 });
      assert.deepEqual(after.messages.map((m) => m.seq), [3, 4]);
      assert.equal(after.total, 5);
      assert.deepEqual((await s.loadMessages(id, { afterSeq: 5 })).messages, []);
      assert.deepEqual((await s.loadMessages(id, { tail: 2 })).messages.map((m) => m.content), ['d', 'e']);
      assert.deepEqual((await s.loadMessages(id, { tail: 50 })).messages.length, 5);
      assert.deepEqual((await s.loadMessages(id, { tail: 0 })).messages, []);
      await assert.rejects(s.loadMessages(id, { afterSeq: 1, offset: 1 }), InvalidMessageRangeError);
      await assert.rejects(s.loadMessages(id, { afterSeq: -1 }), InvalidMessageRangeError);
    });
  });

  test(`${name}: beginTurn takes the lease with a growing fence and the history; a second turn is busy`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agent(), { user: 'u' });
      await s.appendMessages(id, [user('q0')]);
      const first = await s.beginTurn(id, ask('t1'));
      assert.equal(first.status, 'acquired');
      if (first.status !== 'acquired') return;
      assert.equal(first.info.metadata.user, 'u');
      assert.deepEqual(first.page.messages.map((m) => m.content), ['q0']);
      assert.equal(first.page.total, 1);
      const second = await s.beginTurn(id, ask('t2', { mode: 'reject' }));
      assert.equal(second.status, 'busy');
      if (second.status === 'busy') assert.ok(second.retryAfterMs > 0 && second.retryAfterMs <= 30_000, String(second.retryAfterMs));
      assert.equal(await s.appendMessages(id, [user('q1'), answer('a1')], { fence: first.fence, leaseToken: 't1' }), 3);
      const next = await s.beginTurn(id, ask('t2'));
      assert.equal(next.status, 'acquired');
      if (next.status === 'acquired') {
        assert.equal(next.fence, first.fence + 1);
        assert.equal(next.page.total, 3);
      }
      await assert.rejects(s.beginTurn('sess_AAAAAAAAAAAAAAAAAAAAAA', ask('x')), SessionNotFoundError);
    });
  });

  test(`${name}: an append under a stale fence is refused and stores nothing`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agent());
      const old = await s.beginTurn(id, ask('old', { leaseTtlMs: 50 }));
      assert.equal(old.status, 'acquired');
      if (old.status !== 'acquired') return;
      // The old turn's lease runs out (its process froze); a new turn takes the session.
      await new Promise((r) => setTimeout(r, 120));
      const fresh = await s.beginTurn(id, ask('new'));
      assert.equal(fresh.status, 'acquired');
      if (fresh.status !== 'acquired') return;
      await s.appendMessages(id, [user('new q'), answer('new a')], { fence: fresh.fence, leaseToken: 'new' });
      await assert.rejects(
        s.appendMessages(id, [user('old q'), answer('old a')], { fence: old.fence, leaseToken: 'old' }),
        (err: unknown) => err instanceof FencedAppendError && err.fence === old.fence && err.currentFence === fresh.fence,
      );
      assert.equal(await s.renewLease(id, 'old', 1000), false);
      assert.deepEqual((await s.loadMessages(id)).messages.map((m) => m.content), ['new q', 'new a']);
    });
  });

  test(`${name}: waiters are served in arrival order; one that stops asking loses its place`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agent());
      assert.equal((await s.beginTurn(id, ask('holder'))).status, 'acquired');
      // The first waiter goes away right after asking: it must not block the others.
      assert.equal((await s.beginTurn(id, ask('w0-gone', { waiterTtlMs: 1 }))).status, 'busy');
      for (const w of ['w1', 'w2', 'w3']) assert.equal((await s.beginTurn(id, ask(w))).status, 'busy');
      await new Promise((r) => setTimeout(r, 20));
      await s.releaseLease(id, 'holder');
      // w2 and w3 asked after w1: they stay busy while w1 has not taken its turn.
      assert.equal((await s.beginTurn(id, ask('w3'))).status, 'busy');
      assert.equal((await s.beginTurn(id, ask('w2'))).status, 'busy');
      assert.equal((await s.beginTurn(id, ask('late', { mode: 'reject' }))).status, 'busy', 'reject does not jump the queue');
      assert.equal((await s.beginTurn(id, ask('w1'))).status, 'acquired');
      await s.releaseLease(id, 'w1');
      assert.equal((await s.beginTurn(id, ask('w3'))).status, 'busy');
      assert.equal((await s.beginTurn(id, ask('w2'))).status, 'acquired');
      await s.releaseLease(id, 'w2');
      assert.equal((await s.beginTurn(id, ask('w3'))).status, 'acquired');
    });
  });

  test(`${name}: interrupt takes the lease from the running turn, whose append is then fenced`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agent());
      const running = await s.beginTurn(id, ask('running'));
      const taker = await s.beginTurn(id, ask('taker', { mode: 'interrupt' }));
      assert.equal(running.status, 'acquired');
      assert.equal(taker.status, 'acquired');
      if (running.status !== 'acquired' || taker.status !== 'acquired') return;
      assert.equal(taker.interrupted, 'running');
      assert.equal(await s.renewLease(id, 'running', 1000), false);
      assert.equal(await s.renewLease(id, 'taker', 1000), true);
      await assert.rejects(s.appendMessages(id, [user('x')], { fence: running.fence }), FencedAppendError);
      assert.equal(await s.appendMessages(id, [user('y')], { fence: taker.fence, leaseToken: 'taker' }), 1);
    });
  });

  test(`${name}: an idempotency record is stored with its turn; the key then replays, or conflicts with another body`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agent());
      const first = await s.beginTurn(id, ask('a', { idempotency: { key: 'k1', requestHash: 'h1' } }));
      assert.equal(first.status, 'acquired');
      if (first.status !== 'acquired') return;
      // Before the turn is stored the key is unknown: a retry waits like any other message.
      assert.equal((await s.beginTurn(id, ask('b', { idempotency: { key: 'k1', requestHash: 'h1' } }))).status, 'busy');
      const record = { key: 'k1', requestHash: 'h1', response: '{"output":"hi","last_seq":2}' };
      await s.appendMessages(id, [user('q'), answer('hi')], { fence: first.fence, leaseToken: 'a', idempotency: record });
      const replay = await s.beginTurn(id, ask('b', { idempotency: { key: 'k1', requestHash: 'h1' } }));
      assert.deepEqual(replay.status === 'replay' ? replay.response : replay.status, record.response);
      const conflict = await s.beginTurn(id, ask('c', { idempotency: { key: 'k1', requestHash: 'other' } }));
      assert.equal(conflict.status, 'conflict');
      await assert.rejects(s.appendMessages(id, [user('again')], { idempotency: record }), (err: unknown) => err instanceof IdempotencyKeyUsedError && err.response === record.response);
      // The replaying waiter 'b' left no place in the queue behind: the next turn runs at once.
      assert.equal((await s.beginTurn(id, ask('d', { mode: 'reject' }))).status, 'acquired');
      assert.equal((await s.loadMessages(id)).total, 2);
    });
  });

  test(`${name}: beginTurn (the waiting loop) serves 30 concurrent turns one at a time, in arrival order`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agent());
      let running = 0;
      const order: number[] = [];
      await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          // Each asks after the previous one did, so arrival order is i.
          await new Promise((r) => setTimeout(r, i * 2));
          const start = await beginTurn(s, id, { mode: 'enqueue', leaseTtlMs: 10_000, waitMs: 30_000 });
          assert.equal(start.kind, 'turn');
          if (start.kind !== 'turn') return;
          running++;
          assert.equal(running, 1, 'one turn at a time');
          assert.equal(start.page.total, order.length * 2, 'each turn sees every earlier turn');
          await new Promise((r) => setTimeout(r, 3));
          order.push(i);
          running--;
          await s.appendMessages(id, [user(`q${i}`), answer(`a${i}`)], start.lease.appendOptions());
          start.lease.finished();
        }),
      );
      assert.equal(order.length, 30);
      const history = (await s.loadMessages(id)).messages;
      assert.deepEqual(history.map((m) => m.seq), Array.from({ length: 60 }, (_, i) => i + 1));
      for (let k = 0; k < 30; k++) assert.equal(history[2 * k + 1]!.content, history[2 * k]!.content!.replace('q', 'a'));
    });
  });

  test(`${name}: beginTurn under reject is SessionBusyError with a retry time; enqueue gives up after its wait`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agent());
      const held = await beginTurn(s, id, { mode: 'enqueue', leaseTtlMs: 20_000, waitMs: 1000 });
      assert.equal(held.kind, 'turn');
      await assert.rejects(beginTurn(s, id, { mode: 'reject', leaseTtlMs: 20_000, waitMs: 1000 }), (err: unknown) => err instanceof SessionBusyError && err.retryAfterMs > 1000 && err.waitedMs === 0);
      await assert.rejects(beginTurn(s, id, { mode: 'enqueue', leaseTtlMs: 20_000, waitMs: 60 }), (err: unknown) => err instanceof SessionBusyError && err.waitedMs >= 60);
      const conflict = await s.create(agent());
      const first = await beginTurn(s, conflict.id, { mode: 'enqueue', leaseTtlMs: 20_000, waitMs: 1000, idempotency: { key: 'k', requestHash: 'h' } });
      if (first.kind !== 'turn') throw new Error('expected a turn');
      await s.appendMessages(conflict.id, [user('q')], first.lease.appendOptions({ key: 'k', requestHash: 'h', response: '{}' }));
      first.lease.finished();
      await assert.rejects(beginTurn(s, conflict.id, { mode: 'enqueue', leaseTtlMs: 20_000, waitMs: 1000, idempotency: { key: 'k', requestHash: 'x' } }), IdempotencyConflictError);
      if (held.kind === 'turn') await held.lease.release();
    });
  });

  test(`${name}: a renewal that meets the lease released by the turn's own append is no loss`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agent());
      const turn = await beginTurn(s, id, { mode: 'enqueue', leaseTtlMs: 30_000, waitMs: 1000 });
      if (turn.kind !== 'turn') throw new Error('expected a turn');
      const stored = s.appendMessages(id, [user('q'), answer('a')], turn.lease.appendOptions());
      // The renewal timer's call, sent right behind the append: it finds the lease the append released.
      turn.lease.renew();
      assert.equal(await stored, 2);
      // Its answer comes in before the turn's finished is called, as it may under load.
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(turn.lease.lostReason, undefined);
      assert.equal(turn.lease.signal.aborted, false);
      turn.lease.finished();
    });
  });

  test(`${name}: a turn whose lease is taken learns it at its next renewal (signal aborted with TurnSupersededError)`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agent());
      const first = await beginTurn(s, id, { mode: 'enqueue', leaseTtlMs: 90, waitMs: 1000 });
      if (first.kind !== 'turn') throw new Error('expected a turn');
      await s.beginTurn(id, ask('intruder', { mode: 'interrupt' }));
      // The renewal timer does not hold the process open; this one does, until the abort.
      const keepAlive = setTimeout(() => undefined, 10_000);
      const reason = await new Promise<unknown>((resolve) => first.lease.signal.addEventListener('abort', () => resolve(first.lease.signal.reason), { once: true }));
      clearTimeout(keepAlive);
      assert.ok(reason instanceof TurnSupersededError && reason.reason === 'lease_lost', String(reason));
      first.lease.finished();
    });
  });
}

/** Idempotency of requests without a session: claim, wait, replay, conflict, release. */
export function requestClaimContract(name: string, target: ContractTarget): void {
  test(`${name}: a request key is claimed once; a retry sees it running, then its response; a failed attempt gives it back`, async (t) => {
    const s = await target.open(t);
    if (s === undefined) return;
    try {
      const scope = `claims-${Math.random().toString(36).slice(2, 10)}`;
      const claim = (token: string, requestHash = 'h') => s.claimRequest(scope, { key: 'k', requestHash, token, ttlMs: 30_000 });
      assert.deepEqual(await claim('first'), { status: 'claimed' });
      assert.equal((await claim('retry')).status, 'running');
      assert.deepEqual(await claim('other', 'different'), { status: 'conflict' });
      assert.equal(await s.renewRequest(scope, 'k', 'retry', 1000), false);
      assert.equal(await s.renewRequest(scope, 'k', 'first', 30_000), true);
      await s.completeRequest(scope, 'k', 'retry', 'not mine', 60);
      await s.completeRequest(scope, 'k', 'first', '{"output":"x"}', 60);
      assert.deepEqual(await claim('retry'), { status: 'replay', response: '{"output":"x"}' });
      const failing = (token: string) => s.claimRequest(scope, { key: 'failing', requestHash: 'h', token, ttlMs: 30_000 });
      assert.equal((await failing('a')).status, 'claimed');
      await s.releaseRequest(scope, 'failing', 'a');
      assert.equal((await failing('b')).status, 'claimed');
    } finally {
      await s.close();
    }
  });
}
