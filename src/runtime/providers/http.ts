import { ProviderError, retryableStatus } from './errors.ts';

/**
 * A provider URL fit for a log line: no `user:password@`, no query, and path segments that look
 * like credentials (long, or mixing letters and digits like a key) replaced by `***`.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '(unparseable url)';
  }
  const path = u.pathname
    .split('/')
    .map((seg) => (looksSecret(decodeSegment(seg)) ? '***' : seg))
    .join('/');
  return `${u.protocol}//${u.host}${path}${u.search === '' ? '' : '?***'}`;
}

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

// Version-like segments (v1, v1beta) and plain words stay readable.
function looksSecret(seg: string): boolean {
  if (seg.length >= 24) return true;
  return seg.length >= 12 && /\d/.test(seg) && /[a-z]/i.test(seg);
}

/** `text` with every secret it may echo (the credentials sent, the URL's password) cut out. */
function scrub(text: string, url: string, headers: Record<string, string>): string {
  const secrets: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (/^(authorization|x-api-key|api-key)$/i.test(k)) secrets.push(v, v.replace(/^Bearer\s+/i, ''));
  }
  try {
    const u = new URL(url);
    if (u.password !== '') secrets.push(u.password, decodeSegment(u.password));
    if (u.username !== '') secrets.push(u.username, decodeSegment(u.username));
    for (const seg of u.pathname.split('/')) if (looksSecret(decodeSegment(seg))) secrets.push(seg, decodeSegment(seg));
  } catch {
    // An unparseable URL has no parts to scrub; redactUrl already reports it as such.
  }
  let out = text;
  for (const sec of secrets.filter((x) => x.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(sec).join('***');
  return out;
}

/**
 * POST JSON to a provider. Network failures and non-2xx answers become ProviderError; an abort
 * (deadline, client gone) is rethrown as the signal's reason so callers can tell it apart.
 */
export async function postJson(
  provider: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal,
): Promise<Response> {
  const where = redactUrl(url);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new ProviderError(provider, `request to ${where} failed: ${scrub(describeFetchError(err), url, headers)}`, { retryable: true, cause: err });
  }
  if (!res.ok) {
    let detail: string;
    try {
      detail = errorDetail(await res.text());
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      detail = `(body unreadable: ${describeFetchError(err)})`;
    }
    throw new ProviderError(provider, `HTTP ${res.status} from ${where}: ${scrub(detail, url, headers)}`, {
      status: res.status,
      retryable: retryableStatus(res.status),
    });
  }
  if (res.body === null) throw new ProviderError(provider, `empty response from ${where}`, { retryable: true });
  return res;
}

/** Read a JSON response body; a body that is not JSON is a (retryable) provider failure. */
export async function readJson(provider: string, res: Response, signal: AbortSignal): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new ProviderError(provider, `reading the response failed: ${describeFetchError(err)}`, { retryable: true, cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ProviderError(provider, `response is not JSON: ${text.slice(0, 200)}`, { retryable: true, cause: err });
  }
}

function errorDetail(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
    if (typeof parsed.error?.message === 'string') return parsed.error.message;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not JSON: the raw text (trimmed) is the best description there is.
    return text.slice(0, 500);
  }
  return text.slice(0, 500);
}

function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

/** Narrow unknown JSON to an object (records only; arrays and null are not). */
export function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function asNumber(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
