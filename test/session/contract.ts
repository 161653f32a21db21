import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message, SessionStore } from '../../src/session/index.ts';
import { InvalidMessageError, InvalidMessageRangeError, isSessionId, SessionNotFoundError } from '../../src/session/index.ts';

export interface ContractTarget {
  /** A fresh store; undefined when the backing service is unavailable (the test was skipped). */
  open(t: import('node:test').TestContext): Promise<SessionStore | undefined>;
}

const msg = (i: number, role: Message['role'] = 'user'): Message => ({ role, content: `m${i}` });
/** `messages` as loaded: each with its seq, counting from `first`. */
const numbered = (messages: Message[], first = 1): Message[] => messages.map((m, i) => ({ ...m, seq: first + i }));

/**
 * The behaviour every SessionStore promises (DESIGN.md "Sessions"), run against each store.
 * Agent names carry a random suffix so runs against a shared server never see each other.
 */
/** Opens the target's store for one test and closes it after, whatever the test did. */
export async function withStore(target: ContractTarget, t: import('node:test').TestContext, fn: (s: SessionStore) => Promise<void>): Promise<void> {
  const store = await target.open(t);
  if (store === undefined) return;
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

export function sessionStoreContract(name: string, target: ContractTarget): void {
  const withTarget = (t: import('node:test').TestContext, fn: (s: SessionStore) => Promise<void>): Promise<void> => withStore(target, t, fn);
  const agentName = (base: string): string => `${base}-${Math.random().toString(36).slice(2, 10)}`;



  test(`${name}: create returns a well-formed session that get returns`, async (t) => {
    await withTarget(t, async (s) => {
      const agent = agentName('support');
      const info = await s.create(agent, { user: 'u1', channel: 'web' });
      assert.ok(isSessionId(info.id), info.id);
      assert.equal(info.agent, agent);
      assert.deepEqual(info.metadata, { user: 'u1', channel: 'web' });
      assert.ok(!Number.isNaN(Date.parse(info.created_at)));
      assert.equal(info.created_at, info.last_active);
      assert.deepEqual(await s.get(info.id), info);
      const bare = await s.create(agent);
      assert.deepEqual(bare.metadata, {});
      assert.notEqual(bare.id, info.id);
    });
  });

  test(`${name}: unknown sessions: get null, delete false, others SessionNotFoundError`, async (t) => {
    await withTarget(t, async (s) => {
      const missing = 'sess_AAAAAAAAAAAAAAAAAAAAAA';
      assert.equal(await s.get(missing), null);
      assert.equal(await s.delete(missing), false);
      const notFound = (err: unknown): boolean => err instanceof SessionNotFoundError && err.sessionId === missing && err.code === 'E_SESSION_NOT_FOUND';
      await assert.rejects(s.touch(missing), notFound);
      await assert.rejects(s.appendMessages(missing, [msg(1)]), notFound);
      await assert.rejects(s.loadMessages(missing), notFound);
      assert.equal(await s.get(missing), null, 'a failed append must not create the session');
    });
  });

  test(`${name}: append returns the new length and load returns everything in order`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agentName('a'));
      assert.deepEqual(await s.loadMessages(id), { messages: [], total: 0 });
      assert.equal(await s.appendMessages(id, [msg(0)]), 1);
      const rich: Message[] = [
        { role: 'assistant', tool_calls: [{ id: 'c1', name: 'search', input: { q: 'x', n: [1, 2], deep: {} } }], content: '' },
        { role: 'tool', tool_result: { tool_call_id: 'c1', content: 'found', is_error: false } },
        { role: 'assistant', content: 'unicode ✓ "quoted" \\ back\nnewline', tool_calls: [] },
      ];
      assert.equal(await s.appendMessages(id, rich), 4);
      assert.equal(await s.appendMessages(id, []), 4);
      const page = await s.loadMessages(id);
      assert.equal(page.total, 4);
      assert.deepEqual(page.messages, numbered([msg(0), ...rich]));
    });
  });

  test(`${name}: stored history is not affected by later mutation of the caller's objects`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agentName('a'));
      const m = msg(1);
      await s.appendMessages(id, [m]);
      m.content = 'changed';
      const loaded = await s.loadMessages(id);
      assert.equal(loaded.messages[0]?.content, 'm1');
      // Loaded messages may be shared and frozen (memory) or fresh copies (Redis): either way
      // changing one never changes the history.
      try {
        loaded.messages[0]!.content = 'changed again';
      } catch (err) {
        assert.ok(err instanceof TypeError, String(err));
      }
      assert.equal((await s.loadMessages(id)).messages[0]?.content, 'm1');
    });
  });

  test(`${name}: pages by offset and limit, total is the whole history`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agentName('a'));
      await s.appendMessages(id, Array.from({ length: 10 }, (_, i) => msg(i)));
      const contents = async (offset?: number, limit?: number): Promise<(string | undefined)[]> => {
        const page = await s.loadMessages(id, { offset, limit });
        assert.equal(page.total, 10);
        return page.messages.map((m) => m.content);
      };
      assert.deepEqual(await contents(0, 3), ['m0', 'm1', 'm2']);
      assert.deepEqual(await contents(3, 3), ['m3', 'm4', 'm5']);
      assert.deepEqual(await contents(8), ['m8', 'm9']);
      assert.deepEqual(await contents(8, 100), ['m8', 'm9']);
      assert.deepEqual(await contents(10, 5), []);
      assert.deepEqual(await contents(50), []);
      assert.deepEqual(await contents(2, 0), []);
      assert.equal((await contents()).length, 10);
      await assert.rejects(s.loadMessages(id, { offset: -1 }), InvalidMessageRangeError);
      await assert.rejects(s.loadMessages(id, { limit: 1.5 }), InvalidMessageRangeError);
    });
  });

  test(`${name}: an invalid message is refused and nothing of that append is stored`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agentName('a'));
      await s.appendMessages(id, [msg(0)]);
      const bad = [msg(1), { role: 'robot', content: 'x' } as unknown as Message, msg(2)];
      await assert.rejects(s.appendMessages(id, bad), (err: unknown) => err instanceof InvalidMessageError && err.index === 1);
      await assert.rejects(s.appendMessages(id, [{ role: 'user', content: 5 } as unknown as Message]), InvalidMessageError);
      assert.deepEqual((await s.loadMessages(id)).messages, numbered([msg(0)]));
    });
  });

  test(`${name}: touch and append move last_active forward`, async (t) => {
    await withTarget(t, async (s) => {
      const info = await s.create(agentName('a'));
      await new Promise((r) => setTimeout(r, 5));
      await s.touch(info.id);
      const touched = await s.get(info.id);
      assert.ok(touched !== null && touched.last_active > info.last_active, 'touch moves last_active');
      assert.equal(touched.created_at, info.created_at);
      await new Promise((r) => setTimeout(r, 5));
      await s.appendMessages(info.id, [msg(1)]);
      const appended = await s.get(info.id);
      assert.ok(appended !== null && appended.last_active > touched.last_active, 'append moves last_active');
    });
  });

  test(`${name}: delete removes the session and its history`, async (t) => {
    await withTarget(t, async (s) => {
      const agent = agentName('a');
      const { id } = await s.create(agent);
      await s.appendMessages(id, [msg(1)]);
      assert.equal(await s.delete(id), true);
      assert.equal(await s.get(id), null);
      assert.equal(await s.delete(id), false);
      await assert.rejects(s.loadMessages(id), SessionNotFoundError);
      await assert.rejects(s.appendMessages(id, [msg(2)]), SessionNotFoundError);
      assert.deepEqual(await s.list(agent), []);
    });
  });

  test(`${name}: list returns an agent's live sessions, most recently active first`, async (t) => {
    await withTarget(t, async (s) => {
      const agent = agentName('lister');
      const other = agentName('other');
      assert.deepEqual(await s.list(agent), []);
      const created = [];
      for (let i = 0; i < 60; i++) created.push(await s.create(agent, { n: String(i) }));
      const foreign = await s.create(other);
      await new Promise((r) => setTimeout(r, 5));
      await s.appendMessages(created[7]!.id, [msg(1)]);
      const deleted = created.splice(20, 10);
      for (const d of deleted) assert.equal(await s.delete(d.id), true);
      const listed = await s.list(agent);
      assert.equal(listed.length, 50);
      assert.deepEqual(new Set(listed.map((x) => x.id)), new Set(created.map((x) => x.id)));
      assert.equal(listed[0]?.id, created[7]!.id, 'the session just appended to comes first');
      for (let i = 1; i < listed.length; i++) assert.ok(listed[i - 1]!.last_active >= listed[i]!.last_active);
      assert.ok(listed.every((x) => x.agent === agent && x.metadata.n !== undefined));
      assert.deepEqual((await s.list(other)).map((x) => x.id), [foreign.id]);
    });
  });

  test(`${name}: 100 concurrent appends to one session keep every message exactly once, in order`, async (t) => {
    await withTarget(t, async (s) => {
      const { id } = await s.create(agentName('busy'));
      const writers = 100;
      // Writer w appends three separate times; its odd appends carry two messages that must stay adjacent.
      const lengths = await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const out: number[] = [];
          for (let k = 0; k < 3; k++) {
            const batch: Message[] = k === 1
              ? [{ role: 'user', content: `w${w}:k${k}:a` }, { role: 'assistant', content: `w${w}:k${k}:b` }]
              : [{ role: 'user', content: `w${w}:k${k}:a` }];
            out.push(await s.appendMessages(id, batch));
          }
          return out;
        }),
      );
      const page = await s.loadMessages(id);
      const expected = writers * 4;
      assert.equal(page.total, expected);
      const seen = page.messages.map((m) => m.content!);
      assert.equal(new Set(seen).size, expected, 'no message duplicated');
      for (let w = 0; w < writers; w++) {
        const mine = seen.filter((c) => c.startsWith(`w${w}:`));
        assert.deepEqual(mine, [`w${w}:k0:a`, `w${w}:k1:a`, `w${w}:k1:b`, `w${w}:k2:a`], `writer ${w} order`);
        const a = seen.indexOf(`w${w}:k1:a`);
        assert.equal(seen[a + 1], `w${w}:k1:b`, `writer ${w}'s two-message append stays contiguous`);
        const ls = lengths[w]!;
        assert.ok(ls[0]! < ls[1]! && ls[1]! < ls[2]!, 'each returned length reflects that append');
      }
      const allLengths = lengths.flat().sort((x, y) => x - y);
      assert.equal(allLengths.at(-1), expected);
      assert.equal(new Set(allLengths).size, allLengths.length, 'each append saw a distinct history length');
    });
  });
}
