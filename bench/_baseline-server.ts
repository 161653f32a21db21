// The peer bench/runtime.ts measures the runtime against: a plain fastify server with the runtime's
// own zod body schemas and an echo handler (sessions are arrays in a Map). Same paths as the
// runtime, so one load script drives both. Run as its own process; prints `listening on URL`.
import Fastify from 'fastify';
import { invokeBody, sessionMessageBody } from '../src/runtime/schemas.ts';
import { newSessionId } from '../src/session/ids.ts';

interface Stored {
  role: string;
  content: string;
}

const sessions = new Map<string, Stored[]>();
const app = Fastify({ logger: false });

function answer(message: string, sessionId: string | undefined): Record<string, unknown> {
  return {
    output: `echo: ${message}`,
    tool_calls: [],
    tokens: { input: message.length, output: message.length + 6, cache_read: 0, total: 2 * message.length + 6 },
    turns: 1,
    duration_ms: 0,
    stop_reason: 'end_turn',
    ...(sessionId === undefined ? {} : { session_id: sessionId }),
  };
}

function badRequest(issues: unknown): { error: string; message: string } {
  return { error: 'invalid_request', message: JSON.stringify(issues) };
}

app.post<{ Params: { name: string } }>('/v1/agents/:name/invoke', async (req, reply) => {
  const body = invokeBody.safeParse(req.body);
  if (!body.success) return reply.code(400).send(badRequest(body.error.issues));
  return answer(body.data.message, body.data.session_id);
});

app.post<{ Params: { name: string } }>('/v1/agents/:name/sessions', async (_req, reply) => {
  const id = newSessionId();
  sessions.set(id, []);
  return reply.code(201).send({ session_id: id, created_at: new Date().toISOString() });
});

app.post<{ Params: { name: string; id: string } }>('/v1/agents/:name/sessions/:id', async (req, reply) => {
  const body = sessionMessageBody.safeParse(req.body);
  if (!body.success) return reply.code(400).send(badRequest(body.error.issues));
  const history = sessions.get(req.params.id);
  if (history === undefined) return reply.code(404).send({ error: 'not_found', message: 'no such session' });
  const result = answer(body.data.message, req.params.id);
  history.push({ role: 'user', content: body.data.message }, { role: 'assistant', content: String(result.output) });
  return result;
});

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening on ${address}\n`);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`closing failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  });
}
