/**
 * A duration as the language writes it in `timeout` attributes and metadata: `30s`, `500ms`,
 * `2m`, `1h`, or bare seconds. Milliseconds, or undefined when the text is not a duration.
 * Read by the runtime (agent deadlines) and the tool layer (tool and MCP call timeouts).
 */
export function parseSpecDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(Number(m[1]) * factor);
}
