import http from 'node:http';
import { once } from 'node:events';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** What the fake answers to one request: a JSON body, an SSE stream, or a status with a body. */
export type FakeReply =
  | { json: unknown; status?: number }
  | { sse: Array<{ event?: string; data: unknown }>; status?: number }
  | { raw: string; status: number }
  | { hang: true };

export interface FakeLlm {
  /** Base URL (no trailing slash). */
  url: string;
  requests: RecordedRequest[];
  /** Requests whose client hung up before the fake answered. */
  abandoned: () => number;
  /** Replies used in order (each taken off the front); the last one repeats. */
  replies: Array<FakeReply | ((req: RecordedRequest) => FakeReply | Promise<FakeReply>)>;
  close(): Promise<void>;
}

/**
 * A real HTTP server on loopback that answers like an LLM API (Anthropic or OpenAI wire format,
 * whatever the test scripts), recording every request it received.
 */
export async function startFakeLlm(): Promise<FakeLlm> {
  const requests: RecordedRequest[] = [];
  const replies: FakeLlm['replies'] = [];
  const sockets = new Set<import('node:net').Socket>();
  let abandoned = 0;
  const server = http.createServer((req, res) => {
    res.once('close', () => {
      if (!res.writableFinished) abandoned++;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      };
      requests.push(rec);
      const next = replies.length > 1 ? replies.shift() : replies[0];
      Promise.resolve(typeof next === 'function' ? next(rec) : next)
        .then((reply) => {
          if (reply === undefined) {
            res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"no reply scripted"}}');
          } else if ('hang' in reply) {
            // Never answer: the client's deadline must end it.
          } else if ('json' in reply) {
            res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(reply.json));
          } else if ('raw' in reply) {
            res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.raw);
          } else {
            res.writeHead(reply.status ?? 200, { 'content-type': 'text/event-stream' });
            // Written in small pieces so the client parser sees events split across chunks.
            const wire = reply.sse
              .map((e) => `${e.event === undefined ? '' : `event: ${e.event}\n`}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`)
              .join('');
            const write = async (): Promise<void> => {
              for (let i = 0; i < wire.length; i += 7) {
                res.write(wire.slice(i, i + 7));
                await new Promise((r) => setImmediate(r));
              }
              res.end();
            };
            return write();
          }
          return undefined;
        })
        .catch((err: unknown) => {
          res.writeHead(500).end(String(err));
        });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    abandoned: () => abandoned,
    replies,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** An Anthropic Messages API response. */
export function anthropicMessage(content: unknown[], usage = { input_tokens: 10, output_tokens: 5 }, stop = 'end_turn'): FakeReply {
  return { json: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content, stop_reason: stop, usage } };
}

/** An OpenAI Chat Completions response. */
export function openaiCompletion(message: Record<string, unknown>, usage = { prompt_tokens: 10, completion_tokens: 5 }, finish = 'stop'): FakeReply {
  return { json: { id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }], usage } };
}
