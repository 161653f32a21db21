// Browser-borne requests against the keyless loopback default, and the shape of framework errors,
// on a real server on loopback (raw HTTP: fetch cannot set Host).
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { irDoc, startTestServer, type TestServer } from './fixtures.ts';
import { rawRequest } from './run-child.ts';

const doc = irDoc({ agents: [{ name: 'bot' }] });
const JSON_CT = { 'content-type': 'application/json' };

/** A raw connection to the server on `port`: what it was sent back so far, and when it closed. */
const connect = (port: number): Promise<{ socket: net.Socket; closed: Promise<void>; data: () => string }> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8').on('data', (d: string) => (data += d));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => socket.destroy());
    socket.once('connect', () => resolve({ socket, closed, data: () => data }));
    socket.once('error', reject);
  });
const within = (p: Promise<void>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

/** Writes `requests` on a new connection; the statuses answered, and whether the server closed it within 1.5 s. */
async function exchange(url: string, requests: string): Promise<{ statuses: number[]; closedByServer: boolean; text: string }> {
  const c = await connect(Number(new URL(url).port));
  c.socket.write(requests);
  const closedByServer = await within(c.closed, 1500);
  c.socket.destroy();
  const text = c.data();
  return { statuses: [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1])), closedByServer, text };
}

describe('no API keys: only loopback names, no foreign origins, JSON bodies only', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer([doc]);
  });
  after(async () => {
    await srv.close();
  });

  test('DNS rebinding: a Host that is not a loopback name is 403, whatever the address', async () => {
    for (const host of ['attacker.example', 'attacker.example:8080', '192.168.1.10', 'localhost.attacker.example']) {
      const r = await rawRequest(srv.url, 'GET', '/v1/agents', { host });
      assert.equal(r.status, 403, host);
      assert.equal(r.json().error, 'forbidden');
      assert.equal(r.headers.connection, 'close');
    }
    for (const host of ['localhost', `localhost:${new URL(srv.url).port}`, '127.0.0.1', '[::1]:8080']) {
      assert.equal((await rawRequest(srv.url, 'GET', '/v1/agents', { host })).status, 200, host);
    }
  });

  test('a request without a Host (HTTP/1.0) is 403: as the first request of a fresh server, and after loopback ones', async () => {
    const fresh = await startTestServer([doc]);
    try {
      const noHost = 'GET /v1/agents HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';
      const loopback = 'GET /v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
      // A refusal closes the connection: the rest go on a second one.
      const first = await exchange(fresh.url, noHost);
      assert.deepEqual({ statuses: first.statuses, closedByServer: first.closedByServer }, { statuses: [403], closedByServer: true }, first.text);
      assert.match(first.text, /Host \\"\\" is not a loopback name/);
      const second = await exchange(fresh.url, loopback + loopback + noHost);
      assert.deepEqual({ statuses: second.statuses, closedByServer: second.closedByServer }, { statuses: [200, 200, 403], closedByServer: true }, second.text);
      assert.match(second.text, /Host \\"\\" is not a loopback name/);
    } finally {
      await fresh.close();
    }
  });

  test('a 400 for a body received whole keeps the connection; a 413 or 415 for a body not read closes it', async () => {
    const answers = async (requests: string): Promise<{ statuses: number[]; closedByServer: boolean }> => {
      const { statuses, closedByServer } = await exchange(srv.url, requests);
      return { statuses, closedByServer };
    };
    const post = (body: string, length = Buffer.byteLength(body)): string =>
      `POST /v1/agents/bot/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${body}`;
    const get = 'GET /v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    assert.deepEqual(await answers(post('{"message": 5}') + get), { statuses: [400, 200], closedByServer: false });
    assert.deepEqual(await answers(post('{"message":"x"}', 50 * 1024 * 1024) + get), { statuses: [413], closedByServer: true });
    const text = 'POST /v1/agents/bot/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello';
    assert.deepEqual(await answers(text + get), { statuses: [415], closedByServer: true });
  });

  test('a cross-site page cannot create sessions blind: a foreign Origin is 403, nothing is created', async () => {
    const before = (await srv.store.list('bot')).length;
    for (const origin of ['https://evil.example', 'null', 'http://localhost.evil.example']) {
      const r = await rawRequest(srv.url, 'POST', '/v1/agents/bot/sessions', { host: '127.0.0.1', origin });
      assert.equal(r.status, 403, origin);
    }
    assert.equal((await srv.store.list('bot')).length, before);
    const local = await rawRequest(srv.url, 'POST', '/v1/agents/bot/sessions', { host: '127.0.0.1', origin: 'http://localhost:3000' }, '');
    assert.equal(local.status, 201);
  });

  test('a POST body must be application/json (a form or text/plain post is 415)', async () => {
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await rawRequest(srv.url, 'POST', '/v1/agents/bot/invoke', { host: '127.0.0.1', 'content-type': ct }, '{"message":"hi"}');
      assert.equal(r.status, 415, ct);
      assert.equal(r.json().error, 'unsupported_media_type');
    }
    const none = await rawRequest(srv.url, 'POST', '/v1/agents/bot/invoke', { host: '127.0.0.1' }, '{"message":"hi"}');
    assert.equal(none.status, 415);
    const ok = await rawRequest(srv.url, 'POST', '/v1/agents/bot/invoke', { host: '127.0.0.1', 'content-type': 'application/json; charset=utf-8' }, '{"message":"hi"}');
    assert.equal(ok.status, 200);
  });

  test('every answer carries X-Content-Type-Options: nosniff, errors and streams too', async () => {
    for (const [method, p, body] of [['GET', '/healthz', undefined], ['GET', '/nope', undefined], ['POST', '/v1/agents/bot/stream', '{"message":"hi"}']] as const) {
      const r = await rawRequest(srv.url, method, p, { host: '127.0.0.1', ...JSON_CT }, body);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
    }
  });

  test('bad URLs and oversized paths answer the documented {error, message}', async () => {
    const bad = await rawRequest(srv.url, 'GET', '/v1/agents/%E0%A4%A/sessions/x', { host: '127.0.0.1' });
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys(bad.json()).sort(), ['error', 'message']);
    assert.equal(bad.json().error, 'invalid_request');
    const longParam = await rawRequest(srv.url, 'GET', `/v1/agents/${'a'.repeat(500)}/sessions/x`, { host: '127.0.0.1' });
    assert.equal(longParam.status, 414);
    assert.deepEqual(longParam.json(), { error: 'invalid_request', message: 'invalid request: a path segment is too long' });
    // A URL over Node's header limit never reaches a route: the JSON body comes from the socket handler.
    const huge = await new Promise<string>((resolve, reject) => {
      const s = net.connect(Number(new URL(srv.url).port), '127.0.0.1');
      let out = '';
      s.setEncoding('utf8').on('data', (d: string) => (out += d));
      // 'end', not 'close': the rest of our oversized write can never drain once the server hung up.
      s.on('end', () => {
        resolve(out);
        s.destroy();
      });
      s.on('error', reject);
      s.write(`GET /v1/agents/${'b'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    assert.match(huge, /^HTTP\/1\.1 431 /);
    const body = huge.slice(huge.indexOf('\r\n\r\n') + 4);
    assert.equal((JSON.parse(body) as { error: string }).error, 'invalid_request');
  });
});

describe('with API keys the Host is not checked (a load balancer may use any name)', () => {
  test('a foreign Host with a valid key is served', async () => {
    const srv = await startTestServer([doc], { apiKeys: ['browser-test-key-0123456789'] });
    try {
      const r = await rawRequest(srv.url, 'GET', '/v1/agents', { host: 'agents.example.com', 'x-api-key': 'browser-test-key-0123456789' });
      assert.equal(r.status, 200);
    } finally {
      await srv.close();
    }
  });
});

describe('trust proxy', () => {
  test('behind a trusted proxy the per-IP rate limit counts X-Forwarded-For clients; without it, the proxy', async () => {
    const statuses = async (srv: TestServer): Promise<number[]> => {
      const out: number[] = [];
      for (const client of ['203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.3']) {
        out.push((await rawRequest(srv.url, 'GET', '/v1/agents', { host: '127.0.0.1', 'x-forwarded-for': client })).status);
      }
      return out;
    };
    const trusted = await startTestServer([doc], { rateLimit: 1, server: { trustProxy: 1 } });
    const untrusted = await startTestServer([doc], { rateLimit: 1 });
    try {
      assert.deepEqual(await statuses(trusted), [200, 429, 200, 200]);
      assert.deepEqual(await statuses(untrusted), [200, 429, 429, 429]);
    } finally {
      await trusted.close();
      await untrusted.close();
    }
  });
});

describe('keep-alive connections', () => {
  test('many requests on one connection add no per-request listeners to it', async () => {
    const srv = await startTestServer([doc]);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on('warning', onWarning);
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const port = Number(new URL(srv.url).port);
      const sockets = new Set<unknown>();
      for (let i = 0; i < 30; i++) {
        await new Promise<void>((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
            sockets.add(res.socket);
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end();
        });
      }
      assert.equal(sockets.size, 1, 'one connection carried them all');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
    } finally {
      process.off('warning', onWarning);
      agent.destroy();
      await srv.close();
    }
  });
});

describe('connection limits', () => {
  test('connections beyond --max-connections are dropped at accept', async () => {
    const srv = await startTestServer([doc], { server: { limits: { maxConnections: 5 } } });
    const held: net.Socket[] = [];
    try {
      const port = Number(new URL(srv.url).port);
      for (let i = 0; i < 5; i++) held.push((await connect(port)).socket);
      await new Promise((r) => setTimeout(r, 200));
      const extra = await connect(port);
      assert.ok(await within(extra.closed, 3000), 'the connection over the cap was closed');
      assert.equal(extra.data(), '');
    } finally {
      for (const s of held) s.destroy();
      await srv.close();
    }
  });

  test('an idle keep-alive connection is closed after --keep-alive-timeout', async () => {
    const srv = await startTestServer([doc], { server: { limits: { keepAliveTimeoutMs: 300 } } });
    try {
      const ka = await connect(Number(new URL(srv.url).port));
      ka.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      assert.ok(await within(ka.closed, 5000), 'the idle connection was closed');
      assert.match(ka.data(), /^HTTP\/1\.1 200 /);
      ka.socket.destroy();
    } finally {
      await srv.close();
    }
  });
});
