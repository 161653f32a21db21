import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import type net from 'node:net';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { forbiddenReason, NetworkGuard, type ToolSet } from '../../src/tools/index.ts';
import { ctx, secretResource, skillDoc, toolsOf } from './helpers.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function startServer(handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void): Promise<{ port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Client sockets this process creates while `fn` runs, and every address one of them tried. */
async function socketsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; sockets: number; attempts: string[] }> {
  let sockets = 0;
  const attempts: string[] = [];
  const onSocket = (message: unknown): void => {
    sockets++;
    (message as { socket: net.Socket }).socket.on('connectionAttempt', (ip: string) => attempts.push(ip));
  };
  diagnostics.subscribe('net.client.socket', onSocket);
  try {
    const result = await fn();
    return { result, sockets, attempts };
  } finally {
    diagnostics.unsubscribe('net.client.socket', onSocket);
  }
}

describe('http tools against a loopback server (private network allowed)', () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  let set: ToolSet;
  let tool: Awaited<ReturnType<typeof toolsOf>>['tool'];
  before(async () => {
    process.env.HTTP_TOOL_TOKEN = 'tok-abcdef-987';
    srv = await startServer((req, res, body) => {
      if (req.url?.startsWith('/big')) res.end('z'.repeat(5000));
      else if (req.url?.startsWith('/slow')) setTimeout(() => res.end('late'), 2000);
      else if (req.url?.startsWith('/missing')) res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such thing; auth was ${String(req.headers.authorization)}`);
      else if (req.url?.startsWith('/to-metadata')) res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      else if (req.url?.startsWith('/hop')) res.writeHead(307, { location: '/echo?after=redirect' }).end();
      else res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    });
    const base = `http://127.0.0.1:${srv.port}`;
    const doc = skillDoc(
      {
        get: { input: [{ name: 'q', type: 'string', required: true }], tool: { type: 'http', url: `${base}/echo/{{q}}?x={{q}}`, headers: { Authorization: 'Bearer {{secret.token}}' } } },
        post: { input: [{ name: 'a', type: 'int' }], tool: { type: 'http', method: 'POST', url: `${base}/echo` } },
        templ: { input: [{ name: 'text', type: 'string' }], tool: { type: 'http', method: 'POST', url: `${base}/echo`, body_template: '{"msg": "{{text}}"}' } },
        big: { tool: { type: 'http', url: `${base}/big` } },
        slow: { tool: { type: 'http', url: `${base}/slow`, timeout: '200ms' } },
        missing: { tool: { type: 'http', url: `${base}/missing`, headers: { authorization: 'Bearer {{secret.token}}' } } },
        meta: { tool: { type: 'http', url: `${base}/to-metadata` } },
        hop: { tool: { type: 'http', url: `${base}/hop` } },
        byname: { tool: { type: 'http', url: `http://localhost:${srv.port}/echo/named` } },
      },
      [secretResource('token', 'env', 'HTTP_TOOL_TOKEN')],
    );
    ({ set, tool } = await toolsOf(doc, { allowPrivateNetwork: true, outputCap: 1000 }));
  });
  after(async () => {
    delete process.env.HTTP_TOOL_TOKEN;
    await set.close();
    await srv.close();
  });

  test('GET: {{field}} is URL-encoded, secret headers are sent', async () => {
    const o = await tool('get').call({ q: 'a b/c?d&e' }, ctx());
    assert.equal(o.is_error, false, o.content);
    assert.equal(JSON.parse(o.content).url, '/echo/a%20b%2Fc%3Fd%26e?x=a%20b%2Fc%3Fd%26e');
    assert.equal(srv.seen.at(-1)?.headers.authorization, 'Bearer tok-abcdef-987');
  });

  test('POST without a template sends the input as JSON; body_template values are JSON-escaped', async () => {
    const o = await tool('post').call({ a: 5 }, ctx());
    assert.deepEqual(JSON.parse(JSON.parse(o.content).body), { a: 5 });
    assert.equal(srv.seen.at(-1)?.headers['content-type'], 'application/json');
    const t = await tool('templ').call({ text: 'say "hi"\n{}' }, ctx());
    assert.deepEqual(JSON.parse(JSON.parse(t.content).body), { msg: 'say "hi"\n{}' });
  });

  test('a host name connects to the address the guard resolved (localhost, with the opt-in)', async () => {
    const o = await tool('byname').call({}, ctx());
    assert.equal(o.is_error, false, o.content);
    assert.equal(JSON.parse(o.content).url, '/echo/named');
  });

  test('a response over the cap is cut and marked', async () => {
    const o = await tool('big').call({}, ctx());
    assert.equal(o.truncated, true);
    assert.ok(o.content.startsWith('z'.repeat(1000) + '\n[output truncated'), o.content.slice(0, 50));
  });

  test('timeout is a tool error', async () => {
    const o = await tool('slow').call({}, ctx());
    assert.equal(o.is_error, true);
    assert.match(o.content, /timed out after 200ms/);
  });

  test('HTTP 4xx is a tool error with the body, secrets redacted', async () => {
    const o = await tool('missing').call({}, ctx());
    assert.equal(o.is_error, true);
    assert.match(o.content, /^HTTP 404 Not Found: no such thing; auth was Bearer \[REDACTED\]$/);
  });

  test('redirects are followed and re-checked: a redirect to the metadata address is refused before connecting', async () => {
    const hop = await tool('hop').call({}, ctx());
    assert.equal(JSON.parse(hop.content).url, '/echo?after=redirect');
    const { result, sockets, attempts } = await socketsDuring(() => tool('meta').call({}, ctx()));
    assert.equal(result.is_error, true);
    assert.match(result.content, /refused to connect: 169\.254\.169\.254 is a cloud metadata address/);
    // At most the socket to the loopback server that sent the redirect; nothing towards the target.
    assert.ok(sockets <= 1);
    assert.deepEqual(attempts.filter((ip) => ip !== '127.0.0.1'), []);
  });
});

describe('SSRF guard (default: refuse), decisions made before any connection', () => {
  const guard = new NetworkGuard({ allowPrivateNetwork: false });
  const refused: Array<[string, RegExp]> = [
    ['http://127.0.0.1:9/', /loopback/],
    ['http://10.1.2.3/', /private/],
    ['http://169.254.169.254/latest/meta-data/', /cloud metadata/],
    ['http://[::1]:9/', /loopback/],
    ['http://localhost:9/', /loopback/],
    ['http://[::ffff:10.0.0.1]/', /private/],
    ['http://192.168.1.1/', /private/],
    ['http://[fe80::1]/', /link-local/],
    ['http://0.0.0.0/', /unspecified/],
  ];
  for (const [url, why] of refused) {
    test(`refuses ${url}`, async () => {
      const d = await guard.decide(new URL(url));
      assert.equal(d.allowed, false);
      assert.match(d.allowed ? '' : d.reason, why);
    });
  }

  test('public addresses pass the check; the opt-in opens loopback and private, never metadata', async () => {
    assert.equal(forbiddenReason('93.184.215.14'), undefined);
    assert.equal(forbiddenReason('2606:4700::1111'), undefined);
    const open = new NetworkGuard({ allowPrivateNetwork: true });
    assert.equal((await open.decide(new URL('http://10.0.0.1/'))).allowed, true);
    assert.equal((await open.decide(new URL('http://localhost/'))).allowed, true);
    assert.equal((await open.decide(new URL('http://169.254.169.254/'))).allowed, false);
  });

  test('http tools with the default guard refuse loopback, private and metadata targets without opening a socket', async () => {
    const doc = skillDoc({
      lo: { tool: { type: 'http', url: 'http://127.0.0.1:9/x' } },
      ten: { tool: { type: 'http', url: 'http://10.0.0.1/x' } },
      md: { tool: { type: 'http', url: 'http://169.254.169.254/latest/meta-data/' } },
      v6: { tool: { type: 'http', url: 'http://[::1]:9/' } },
      name: { tool: { type: 'http', url: 'http://localhost:9/' } },
      scheme: { tool: { type: 'http', url: 'file:///etc/passwd' } },
    });
    const { set, tool } = await toolsOf(doc);
    try {
      for (const name of ['lo', 'ten', 'md', 'v6', 'name', 'scheme']) {
        const { result, sockets } = await socketsDuring(() => tool(name).call({}, ctx()));
        assert.equal(result.is_error, true, name);
        assert.match(result.content, /^refused/, name);
        assert.equal(sockets, 0, `${name} opened a socket`);
      }
    } finally {
      await set.close();
    }
  });
});
