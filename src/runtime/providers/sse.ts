/** One server-sent event (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Parse a byte stream of server-sent events. Handles \n, \r\n and \r line ends, multi-line `data`,
 * comments and events split across chunks. An event without `event:` is named `message`.
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let sawData = false;

  function* lines(final: boolean): Generator<string> {
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buffer);
      if (m === null) break;
      // A trailing \r may be the first half of \r\n split across chunks: wait for more input.
      if (!final && m[0] === '\r' && m.index === buffer.length - 1) break;
      yield buffer.slice(0, m.index);
      buffer = buffer.slice(m.index + m[0].length);
    }
  }

  function* take(line: string): Generator<SseEvent> {
    if (line === '') {
      if (sawData) yield { event: event === '' ? 'message' : event, data: data.join('\n') };
      event = '';
      data = [];
      sawData = false;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') {
      data.push(value);
      sawData = true;
    }
  }

  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (const line of lines(false)) yield* take(line);
  }
  buffer += decoder.decode();
  for (const line of lines(true)) yield* take(line);
  if (buffer !== '') yield* take(buffer);
  // The stream may end without a final blank line; the spec drops such an event, but providers
  // that forget it still meant it.
  yield* take('');
}

/** Format one event for the wire. `data` is JSON-encoded, so it never holds a raw newline. */
export function formatSse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
