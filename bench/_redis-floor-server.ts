// The floor of a Redis session turn with the libraries the runtime is built on: fastify + zod with
// the runtime's body schema, and the official Redis client sending the runtime's own two turn
// scripts (BEGIN_TURN, then APPEND with the question and an echo answer) with the same keys and
// arguments, and nothing else: no lease object, no memory window, no token counts, no agent loop,
// no metrics, no request log, no deadlines. Redis does the same work per turn as for the runtime
// (the page is trimmed by the history this process holds, as the runtime's store does), so the
// difference between this server and the runtime is the runtime's own code.
// Run as its own process with REDIS_URL; prints `listening on URL`.
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { createClient } from 'redis';
import { sessionMessageBody } from '../src/runtime/schemas.ts';
import { newSessionId } from '../src/session/ids.ts';
import { APPEND, BEGIN_TURN, CREATE } from '../src/session/redis-scripts.ts';
import { BARE_TTL_SECONDS as TTL_SECONDS, bareTurn, evalsha, type BareSession } from './_bare-turn.ts';

const PREFIX = `floor${randomBytes(3).toString('hex')}`;

// The client as the runtime's store configures it, minus its deadlines: no timer per command.
const client = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', disableOfflineQueue: true, commandOptions: { timeout: 0 } });
client.on('error', (err: unknown) => process.stderr.write(`redis: ${String(err)}\n`));
await client.connect();
for (const s of [APPEND, BEGIN_TURN, CREATE]) await client.sendCommand(['SCRIPT', 'LOAD', s.source]);

/** What the runtime's store holds per session between turns: how long the history is, so the page is not sent again. */
const held = new Map<string, { created: string; length: number }>();

// The key layout of the runtime's store (RedisSessionStore's metaKey, messagesKey, ...), under a prefix of this run's.
const keys = (id: string): string[] => {
  const s = `${PREFIX}:session:{${id}}`;
  return [s, `${s}:messages`, `${s}:lease`, `${s}:queue`, `${s}:waiters`, `${s}:idempotency`];
};

const indexKey = (agent: string): string => `${PREFIX}:agent:{${agent}}:sessions`;

const app = Fastify({ logger: false });

app.post<{ Params: { name: string } }>('/v1/agents/:name/sessions', async (req, reply) => {
  const id = newSessionId();
  const created = new Date().toISOString();
  await Promise.all([
    evalsha(client, CREATE, keys(id), [String(TTL_SECONDS), req.params.name, created, '{}']),
    client.sendCommand(['ZADD', indexKey(req.params.name), String(Date.now() + TTL_SECONDS * 1000), id]),
  ]);
  held.set(id, { created, length: 0 });
  return reply.code(201).send({ session_id: id, created_at: created });
});

app.post<{ Params: { name: string; id: string } }>('/v1/agents/:name/sessions/:id', async (req, reply) => {
  const body = sessionMessageBody.safeParse(req.body);
  if (!body.success) return reply.code(400).send({ error: 'invalid_request', message: JSON.stringify(body.error.issues) });
  const id = req.params.id;
  const message = body.data.message;
  const session: BareSession = { id, keys: keys(id), indexKey: indexKey(req.params.name) };
  const h = held.get(id);
  if (h !== undefined) session.held = h;
  const turn = await bareTurn(client, session, message);
  if (turn.status !== 'ok') return reply.code(turn.reply === 'missing' ? 404 : 409).send({ error: turn.reply, message: 'no turn' });
  const { output, total } = turn;
  return {
    output,
    tool_calls: [],
    tokens: { input: message.length, output: output.length, cache_read: 0, total: message.length + output.length },
    turns: 1,
    duration_ms: 0,
    stop_reason: 'end_turn',
    session_id: id,
    first_seq: total + 1,
    last_seq: total + 2,
  };
});

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening on ${address}\n`);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    Promise.all([app.close(), client.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`closing failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  });
}
