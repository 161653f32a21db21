import { ProviderError, retryableStatus } from './errors.ts';

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
    throw new ProviderError(provider, `request to ${url} failed: ${describeFetchError(err)}`, { retryable: true, cause: err });
  }
  if (!res.ok) {
    let detail: string;
    try {
      detail = errorDetail(await res.text());
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      detail = `(body unreadable: ${describeFetchError(err)})`;
    }
    throw new ProviderError(provider, `HTTP ${res.status} from ${url}: ${detail}`, {
      status: res.status,
      retryable: retryableStatus(res.status),
    });
  }
  if (res.body === null) throw new ProviderError(provider, `empty response from ${url}`, { retryable: true });
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
