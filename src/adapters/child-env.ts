import type { IRDocument } from '../ir/types.ts';

/**
 * Variables the runtime reads itself: model providers' keys and base URLs (docs/runtime.md
 * "Models"), the session store, and what Node and the system need to run at all.
 */
const ALWAYS = new Set([
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_BASE_URL',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'OLLAMA_API_KEY',
  'OLLAMA_BASE_URL',
  'REDIS_URL',
  'PATH',
  'HOME',
  'USER',
  'TMPDIR',
  'TZ',
  'LANG',
  'LANGUAGE',
  'NO_COLOR',
  'NODE_EXTRA_CA_CERTS',
]);

/** Names the spec asks for: its deploy targets' `env`/`secrets` keys and its env-sourced secrets. */
export function specEnvNames(doc: IRDocument): Set<string> {
  const names = new Set<string>();
  for (const t of doc.deploy_targets ?? []) {
    for (const k of Object.keys(t.config?.env ?? {})) names.add(k);
    for (const k of Object.keys(t.config?.secrets ?? {})) names.add(k);
  }
  for (const r of doc.resources ?? []) {
    if (r.kind !== 'Secret') continue;
    const { source, key } = r.attributes;
    if (source === 'env' && typeof key === 'string' && key !== '') names.add(key);
  }
  return names;
}

/**
 * The environment of a runtime child: an allowlist, never the caller's whole environment (which
 * holds cloud credentials and tokens the runtime has no use for). Kept: ALWAYS, `AGENTSPEC_*`,
 * locale (`LC_*`), and every name the spec itself asks for.
 */
export function childEnv(parent: NodeJS.ProcessEnv, doc: IRDocument): NodeJS.ProcessEnv {
  const wanted = specEnvNames(doc);
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(parent)) {
    if (v === undefined) continue;
    if (ALWAYS.has(k) || k.startsWith('AGENTSPEC_') || k.startsWith('LC_') || wanted.has(k)) out[k] = v;
  }
  return out;
}
