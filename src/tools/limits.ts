/** Defaults of every command/inline/http tool (a skill's `timeout` and `memory` override them). */
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;
export const DEFAULT_OUTPUT_CAP = 256 * 1024;
export const STDERR_CAP = 16 * 1024;
export const DEFAULT_INLINE_MEMORY = 256 * 1024 * 1024;

/** `256Mi`, `128MB`, `512m`, `1G`, `1048576` (bytes) as bytes. */
export function parseMemory(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(text.trim());
  if (m === null) return undefined;
  const power = ' kmgt'.indexOf((m[2] ?? '').toLowerCase() || ' ');
  const bytes = Math.floor(Number(m[1]) * 1024 ** power);
  return bytes > 0 ? bytes : undefined;
}

/** Text the model sees when output was cut. */
export function truncationNote(kept: number, total: number): string {
  return `\n[output truncated: ${total} bytes, first ${kept} shown]`;
}
