/**
 * A `tools/call` result as the text the model reads. Text parts are kept as they are; binary
 * parts (images, audio, blobs) are described rather than pasted as base64 the model cannot use.
 */
import type { ToolOutcome } from '../types.ts';

export const DEFAULT_MAX_OUTPUT_BYTES = 100_000;

interface ContentPart {
  type: string;
  text?: unknown;
  data?: unknown;
  mimeType?: unknown;
  uri?: unknown;
  name?: unknown;
  resource?: { uri?: unknown; text?: unknown; blob?: unknown; mimeType?: unknown };
}

function describe(part: ContentPart): string {
  const mime = typeof part.mimeType === 'string' ? part.mimeType : 'unknown type';
  const size = (data: unknown): number => (typeof data === 'string' ? Math.floor((data.length * 3) / 4) : 0);
  switch (part.type) {
    case 'text':
      return typeof part.text === 'string' ? part.text : '';
    case 'image':
    case 'audio':
      return `[${part.type}: ${mime}, ${size(part.data)} bytes]`;
    case 'resource': {
      const r = part.resource ?? {};
      if (typeof r.text === 'string') return r.text;
      const rmime = typeof r.mimeType === 'string' ? r.mimeType : 'unknown type';
      return `[resource ${String(r.uri)}: ${rmime}, ${size(r.blob)} bytes]`;
    }
    case 'resource_link':
      return `[resource link ${String(part.uri)}${typeof part.name === 'string' ? ` (${part.name})` : ''}]`;
    default:
      return `[${part.type} content]`;
  }
}

/** Cut `text` to at most `max` UTF-8 bytes without splitting a character. */
export function capText(text: string, max: number): { text: string; bytes: number; truncated: boolean } {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return { text, bytes: buf.length, truncated: false };
  let end = max;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  const shown = buf.subarray(0, end).toString('utf8');
  return { text: `${shown}\n[output truncated: ${end} of ${buf.length} bytes shown]`, bytes: buf.length, truncated: true };
}

export function toOutcome(result: Record<string, unknown>, maxBytes: number): ToolOutcome {
  const parts = Array.isArray(result.content) ? (result.content as ContentPart[]) : [];
  let text = parts.map(describe).join('\n');
  if (parts.length === 0) {
    // Structured-only results and the pre-2025 `toolResult` form.
    if (result.structuredContent !== undefined) text = JSON.stringify(result.structuredContent);
    else if (result.toolResult !== undefined) text = typeof result.toolResult === 'string' ? result.toolResult : JSON.stringify(result.toolResult);
  }
  const capped = capText(text, maxBytes);
  return { content: capped.text, is_error: result.isError === true, truncated: capped.truncated, bytes: capped.bytes };
}
