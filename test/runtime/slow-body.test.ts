// Connections that send headers and half a body, against a real `agentspec run`: they are cut
// after the request timeout (with or without a key), and a SIGTERM does not wait for them.
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { irDoc } from './fixtures.ts';
import { startRunChild } from './run-child.ts';

const SOCKETS = Number(process.env.AGENTSPEC_SLOW_SOCKETS ?? 200);
const KEY = 'slow-body-test-key-0123456789';

interface Slow {
  socket: net.Socket;
  closed: Promise<number>;
  /** What the server wrote back before closing (a 401 or a 408), if anything. */
  reply: () => string;
}

/** Headers announcing 2,000 body bytes, then only 1,000 of them. */
function slowRequest(port: number, withKey: boolean): Promise<Slow> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setEncoding('utf8').on('data', (d: string) => (reply += d));
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    socket.once('error', () => undefined);
    socket.once('connect', () => {
      const body = `{"message":"${'x'.repeat(1986)}"}`;
      socket.write(
        `POST /v1/agents/bot/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
          `${withKey ? `X-API-Key: ${KEY}\r\n` : ''}\r\n${body.slice(0, 1000)}`,
      );
      resolve({ socket, closed, reply: () => reply });
    });
    socket.once('error', reject);
  });
}

describe('slow request bodies (real agentspec run)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-slow-'));
    await writeFile(path.join(dir, 'ir.json'), JSON.stringify(irDoc({ agents: [{ name: 'bot' }] })));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test(`${SOCKETS} half-sent bodies are closed after the request timeout`, { timeout: 60_000 }, async () => {
    const run = await startRunChild(['--ir', path.join(dir, 'ir.json'), '--request-timeout', '1s', '--rate-limit', '0'], { AGENTSPEC_API_KEYS: KEY });
    try {
      const started = Date.now();
      const keyed = await Promise.all(Array.from({ length: SOCKETS }, () => slowRequest(run.port, true)));
      const keyedClosed = await Promise.all(keyed.map((s) => s.closed));
      const last = Math.max(...keyedClosed) - started;
      // The timeout is 1 s and checked every 100 ms; allow for a loaded machine, but not "never".
      assert.ok(last < 10_000, `the last socket closed after ${last} ms`);
      for (const s of keyed) assert.match(s.reply(), /^HTTP\/1\.1 408 /);
      // Still serving afterwards.
      const ok = await fetch(`${run.url}/v1/agents/bot/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: '{"message":"hi"}' });
      assert.equal(ok.status, 200);
    } finally {
      await run.stop();
    }
  });

  test('without a key the 401 closes the connection at once; SIGTERM does not wait for half-sent bodies', { timeout: 60_000 }, async () => {
    // The default request timeout (30 s) and grace (10 s) are both far longer than this must take.
    const run = await startRunChild(['--ir', path.join(dir, 'ir.json'), '--rate-limit', '0'], { AGENTSPEC_API_KEYS: KEY });
    const started = Date.now();
    const anonymous = await Promise.all(Array.from({ length: SOCKETS }, () => slowRequest(run.port, false)));
    const anonClosed = Math.max(...(await Promise.all(anonymous.map((s) => s.closed)))) - started;
    assert.ok(anonClosed < 5000, `the last 401 connection closed after ${anonClosed} ms`);
    for (const s of anonymous) assert.match(s.reply(), /^HTTP\/1\.1 401 [^]*"error":"unauthorized"/);
    const slow = await Promise.all(Array.from({ length: SOCKETS }, () => slowRequest(run.port, true)));
    // Every one of them reached the server (their requests were parsed up to the body).
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const [code] = await run.exited;
    const took = Date.now() - t0;
    assert.equal(code, 0);
    assert.ok(took < 5000, `shutdown took ${took} ms`);
    await Promise.all(slow.map((s) => s.closed));
  });
});
