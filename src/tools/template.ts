/** `{{field}}` placeholders, as written in `args`, `url`, `body_template` and `headers`. */
const PLACEHOLDER = /\{\{\s*([^{}\s]+)\s*\}\}/g;

function lookup(input: Record<string, unknown>, path: string): unknown {
  let v: unknown = input;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** A value as text: strings as they are, anything else as JSON; a missing field is empty. */
function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Replace placeholders with input values passed through `encode`. Only input fields are looked
 * up: a placeholder never reaches the runtime's environment or secrets.
 */
export function render(template: string, input: Record<string, unknown>, encode: (text: string, raw: unknown) => string = (t) => t): string {
  return template.replace(PLACEHOLDER, (_whole, name: string) => {
    const raw = lookup(input, name);
    return encode(asText(raw), raw);
  });
}

/** Placeholder for a URL: the value is one URL-encoded component (a `/` or `?` in it stays data). */
export const encodeUrl = (text: string): string => encodeURIComponent(text);

/** Placeholder inside a JSON body template: the value as JSON string contents (escaped). */
export const encodeJson = (text: string): string => JSON.stringify(text).slice(1, -1);

/** Names of the placeholders a template uses. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}
