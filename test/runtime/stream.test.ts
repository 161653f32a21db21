import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSse, parseSse } from '../../src/runtime/providers/sse.ts';
import { call, irDoc, startTestServer, type TestServer } from './fixtures.ts';
import { postSse } from './sse-client.ts';

async function* chunks(parts: string[]): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder();
  for (const p of parts) yield enc.encode(p);
}

async function collect(parts: string[]): Promise<Array<{ event: string; data: string }>> {
  const out: Array<{ event: string; data: string }> = [];
  for await (const e of parseSse(chunks(parts))) out.push(e);
  return out;
}

describe('SSE parser', () => {
  test('events split across chunks, CRLF, comments, multi-line data, default event name', async () => {
    const wire = ': comment\r\nevent: a\r\ndata: 1\r\n\r\ndata: x\ndata: y\n\nevent: b\rdata: z\r\r';
    for (const size of [1, 2, 3, 5, wire.length]) {
      const parts: string[] = [];
      for (let i = 0; i < wire.length; i += size) parts.push(wire.slice(i, i + size));
      assert.deepEqual(
        await collect(parts),
        [
          { event: 'a', data: '1' },
          { event: 'message', data: 'x\ny' },
          { event: 'b', data: 'z' },
        ],
        `chunk size ${size}`,
      );
    }
  });

  test('a final event without the blank line is still delivered; multi-byte text split mid-character', async () => {
    const bytes = new TextEncoder().encode('data: "héllo ✓"');
    const split = async function* (): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
    };
    const out: Array<{ event: string; data: string }> = [];
    for await (const e of parseSse(split())) out.push(e);
    assert.deepEqual(out, [{ event: 'message', data: '"héllo ✓"' }]);
  });

  test('formatSse round-trips through parseSse, newlines included', async () => {
    const wire = formatSse('text', { text: 'two\nlines' }) + formatSse('done', { ok: true });
    const out = await collect([wire]);
    assert.deepEqual(out.map((e) => [e.event, JSON.parse(e.data)]), [
      ['text', { text: 'two\nlines' }],
      ['done', { ok: true }],
    ]);
  });
});

describe('POST /v1/agents/:name/stream', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer([
      irDoc({
        agents: [{ name: 'e', model: 'echo' }, { name: 'f', model: 'echo' }, { name: 'v', model: 'echo', prompt: 'needs' }],
        prompts: { system: { content: 'x' }, needs: { content: 'Hi {{who}}', variables: [{ name: 'who', required: true }] } },
      }),
    ]);
  });
  after(async () => {
    await srv.close();
  });

  test('text deltas, then one done with tokens, turns, duration_ms', async () => {
    const r = await postSse(`${srv.url}/v1/agents/e/stream`, { message: 'stream me please' });
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^text\/event-stream/);
    const texts = r.events.filter((e) => e.event === 'text');
    assert.ok(texts.length > 1, 'answer arrives in several deltas');
    assert.equal(texts.map((e) => e.data.text).join(''), 'echo: stream me please (messages: 1)');
    const last = r.events[r.events.length - 1]!;
    assert.equal(last.event, 'done');
    assert.equal(r.events.filter((e) => e.event === 'done').length, 1);
    const tokens = last.data.tokens as { input: number; output: number; cache_read: number; total: number };
    assert.equal(tokens.total, tokens.input + tokens.output + tokens.cache_read);
    assert.equal(last.data.turns, 1);
    assert.equal(typeof last.data.duration_ms, 'number');
    // The output came in the text events; done stays small unless asked (include_output).
    assert.deepEqual(Object.keys(last.data).sort(), ['agent', 'duration_ms', 'session_id', 'stop_reason', 'tokens', 'turns']);
  });

  test('honours session_id: sees the history and appends the turn', async () => {
    const s = await call(`${srv.url}/v1/agents/e/sessions`, 'POST', {});
    const id = String(s.body.session_id);
    await call(`${srv.url}/v1/agents/e/sessions/${id}`, 'POST', { message: 'one' });
    const r = await postSse(`${srv.url}/v1/agents/e/stream`, { message: 'two', session_id: id, include_output: true });
    const done = r.events.find((e) => e.event === 'done');
    assert.equal(done?.data.output, 'echo: two (messages: 3)');
    assert.equal(done?.data.session_id, id);
    const hist = await call(`${srv.url}/v1/agents/e/sessions/${id}`, 'GET');
    assert.equal(hist.body.total, 4);
  });

  test('errors before the stream starts are plain JSON with their status', async () => {
    let r = await postSse(`${srv.url}/v1/agents/missing/stream`, { message: 'x' });
    assert.equal(r.status, 404);
    assert.equal(r.json?.error, 'not_found');
    r = await postSse(`${srv.url}/v1/agents/e/stream`, { message: '' });
    assert.equal(r.status, 400);
    assert.match(String(r.json?.message), /message/);
    const s = await call(`${srv.url}/v1/agents/e/sessions`, 'POST', {});
    r = await postSse(`${srv.url}/v1/agents/f/stream`, { message: 'x', session_id: s.body.session_id });
    assert.equal(r.status, 404);
    r = await postSse(`${srv.url}/v1/agents/v/stream`, { message: 'x' });
    assert.equal(r.status, 400);
    assert.match(String(r.json?.message), /variables\.who/);
  });
});
