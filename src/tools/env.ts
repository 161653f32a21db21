/**
 * The environment a tool process starts from: PATH, HOME and the locale of the runtime, nothing
 * else (no API keys, no cloud credentials the runtime happens to have).
 */
export function baseToolEnv(runtimeEnv: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(runtimeEnv)) {
    if (v === undefined) continue;
    if (k === 'PATH' || k === 'HOME' || k === 'LANG' || k === 'LANGUAGE' || k === 'TZ' || k.startsWith('LC_')) out[k] = v;
  }
  out.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  return out;
}
