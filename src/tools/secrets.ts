import { open } from 'node:fs/promises';
import { errorMessage } from '../errors.ts';
import type { IRDocument } from '../ir/types.ts';
import { SecretError, SecretsFileError } from './errors.ts';

export interface SecretSources {
  /** Where `env(NAME)` is read; the runtime's environment. */
  env: NodeJS.ProcessEnv;
  /** `--secrets-file`: backs `store(KEY)`. */
  secretsFile?: string;
}

/** KEY=value lines; `#` comments, optional `export `, single or double quotes around the value. */
export function parseDotenv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-/]*)\s*=\s*(.*)$/.exec(t);
    if (m === null) throw new Error(`line ${i + 1} is not KEY=value`);
    let value = m[2] ?? '';
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out.set(m[1] ?? '', value);
  });
  return out;
}

/**
 * The secrets file: JSON (an object of strings) or dotenv. Refused when group or others may read
 * or write it, as ssh does for private keys: a secret everyone can read is no secret.
 */
export async function loadSecretsFile(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new SecretsFileError(path, 'not a regular file');
      if ((st.mode & 0o077) !== 0) {
        throw new SecretsFileError(path, `mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets others read it; run \`chmod 600 ${path}\``);
      }
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof SecretsFileError) throw err;
    throw new SecretsFileError(path, `cannot read the secrets file: ${errorMessage(err)}`, err);
  }
  if (text.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new SecretsFileError(path, `invalid JSON: ${errorMessage(err)}`, err);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SecretsFileError(path, 'JSON must be an object of strings');
    const out = new Map<string, string>();
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string') throw new SecretsFileError(path, `"${k}" must be a string`);
      out.set(k, v);
    }
    return out;
  }
  try {
    return parseDotenv(text);
  } catch (err) {
    throw new SecretsFileError(path, `neither JSON nor dotenv: ${errorMessage(err)}`, err);
  }
}

/**
 * Every `secret` block of the served documents, resolved once at start-up: name -> value.
 * Any secret that cannot be resolved stops the start-up with the secret's name and its source.
 */
export async function resolveSecrets(docs: IRDocument[], sources: SecretSources): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let store: Map<string, string> | undefined;
  for (const doc of docs) {
    for (const r of doc.resources ?? []) {
      if (r.kind !== 'Secret') continue;
      const source = r.attributes.source;
      const key = typeof r.attributes.key === 'string' ? r.attributes.key : '';
      if (source === 'env') {
        const v = sources.env[key];
        if (v === undefined || v === '') throw new SecretError(r.name, `environment variable ${key} is not set (declared as env(${key}))`);
        out.set(r.name, v);
      } else if (source === 'store') {
        if (sources.secretsFile === undefined) {
          throw new SecretError(r.name, `store(${key}) needs a secrets store: pass --secrets-file FILE (or set AGENTSPEC_SECRETS_FILE)`);
        }
        store ??= await loadSecretsFile(sources.secretsFile);
        const v = store.get(key);
        if (v === undefined) throw new SecretError(r.name, `key "${key}" is not in the secrets file ${sources.secretsFile}`);
        out.set(r.name, v);
      } else {
        throw new SecretError(r.name, `source "${String(source)}" is not env or store`);
      }
    }
  }
  return out;
}
