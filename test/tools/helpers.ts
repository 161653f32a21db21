import { startToolSet, type Tool, type ToolSet, type ToolSetOptions } from '../../src/tools/index.ts';
import type { Attributes, IRDocument, Resource } from '../../src/ir/types.ts';

export interface SkillDef {
  input?: Array<{ name: string; type: string; required?: boolean }>;
  tool: Attributes;
  description?: string;
}

/** An IR document holding skills (and optional extra resources such as secrets or types). */
export function skillDoc(skills: Record<string, SkillDef>, extra: Resource[] = []): IRDocument {
  const resources: Resource[] = Object.entries(skills).map(([name, s]) => ({
    kind: 'Skill',
    name,
    fqn: `tools-test/Skill/${name}`,
    hash: 'sha256:test',
    attributes: {
      description: s.description ?? `skill ${name}`,
      input: (s.input ?? []).map((f) => ({ name: f.name, type: f.type, ...(f.required === true ? { required: true } : {}) })),
      output: [{ name: 'out', type: 'string' }],
      tool: s.tool,
    },
  }));
  return { ir_version: '1.0', lang_version: '2.0', package: { name: 'tools-test', version: '0.1.0' }, resources: [...resources, ...extra] };
}

export function secretResource(name: string, source: 'env' | 'store', key: string): Resource {
  return { kind: 'Secret', name, fqn: `tools-test/Secret/${name}`, hash: 'sha256:test', attributes: { source, key } };
}

/** The tool set of `doc` and a lookup of one skill's tool through an agent that uses every skill. */
export async function toolsOf(doc: IRDocument, opts: Partial<ToolSetOptions> = {}): Promise<{ set: ToolSet; tool: (name: string) => Tool }> {
  const set = await startToolSet([doc], { env: process.env, ...opts });
  const skills = (doc.resources ?? []).filter((r) => r.kind === 'Skill').map((r) => r.name);
  const agent: Resource = { kind: 'Agent', name: 'tester', fqn: 'tools-test/Agent/tester', hash: 'sha256:test', attributes: { model: 'echo', skills } };
  const tools = new Map(set.toolsFor(doc, agent).map((t) => [t.name, t]));
  return {
    set,
    tool: (name) => {
      const t = tools.get(name);
      if (t === undefined) throw new Error(`no tool ${name}`);
      return t;
    },
  };
}

export const ctx = (signal: AbortSignal = new AbortController().signal): { agent: string; signal: AbortSignal } => ({ agent: 'tester', signal });

/** bwrap must be usable for the isolation tests; under CI a missing one is a failure, not a skip. */
export const SANDBOX_EXPECTED = process.env.CI === 'true';
