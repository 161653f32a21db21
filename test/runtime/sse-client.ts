import { parseSse } from '../../src/runtime/providers/sse.ts';

export interface ClientEvent {
  event: string;
  data: Record<string, unknown>;
}

/** POST and read the whole server-sent event stream (parsed here, on the client side). */
export async function postSse(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; events: ClientEvent[]; json?: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const contentType = res.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/event-stream')) {
    return { status: res.status, contentType, events: [], json: (await res.json()) as Record<string, unknown> };
  }
  const events: ClientEvent[] = [];
  if (res.body === null) throw new Error('no body');
  for await (const e of parseSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
    events.push({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> });
  }
  return { status: res.status, contentType, events };
}
