import type { Statement } from '../lang/ast.ts';
import type { Diagnostic } from '../lang/diagnostics.ts';
import { q, Reporter, type ValidationInput } from './context.ts';

/** The kind words an environment override may name, and the statements they stand for. */
const OVERRIDE_KINDS: Partial<Record<Statement['kind'], string>> = {
  agent: 'agent',
  prompt: 'prompt',
  skill: 'skill',
  server: 'server',
  client: 'client',
  secret: 'secret',
};

/**
 * REFERENCE 4.5: per environment, an attribute overridden twice conflicts, and every override
 * must name an existing agent/prompt/skill/server/client/secret. Reported at the environment.
 */
export function validateEnvironments(input: ValidationInput): Diagnostic[] {
  const r = new Reporter(input);
  const targets = new Set<string>();
  for (const s of input.statements) {
    const word = OVERRIDE_KINDS[s.kind];
    if (word !== undefined && 'name' in s) targets.add(`${word}/${s.name}`);
  }
  const available = [...targets].sort();
  for (const env of input.statements) {
    if (env.kind !== 'environment') continue;
    const seen = new Set<string>();
    for (const t of env.targets) {
      const resource = `${t.kindWord}/${t.name}`;
      for (const o of t.attributes) {
        const key = `${resource}.${o.attribute}`;
        if (seen.has(key)) {
          r.at(
            env,
            env.pos,
            `conflicting override in environment ${q(env.name)}: ${key} set multiple times`,
            'each attribute may only be overridden once per environment',
          );
        }
        seen.add(key);
        if (!targets.has(resource)) {
          r.at(
            env,
            env.pos,
            `environment ${q(env.name)}: override target ${q(resource)} not found`,
            available.length > 0 ? `check the resource kind and name (available: ${available.join(', ')})` : 'check the resource kind and name',
          );
        }
      }
    }
  }
  return r.diagnostics;
}
