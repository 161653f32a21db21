import type { File, Statement } from '../lang/ast.ts';
import { LoweringError } from './errors.ts';
import { contentHash, compareBytes } from './hash.ts';
import { sortKeysDeep } from './json.ts';
import { lowerAgent, lowerMetadata } from './lower-agent.ts';
import { lowerBinding, lowerDeploy, lowerPolicy } from './lower-deploy.ts';
import {
  lowerClient,
  lowerEnvironment,
  lowerPipeline,
  lowerPrompt,
  lowerSecret,
  lowerServer,
  lowerSkill,
  lowerType,
  type Lowered,
} from './lower-resources.ts';
import type { ImportRef, IRDocument, PluginRef, Resource, ResourceKind } from './types.ts';
import { RESOURCE_KINDS } from './types.ts';

const KIND_RANK = new Map<string, number>(RESOURCE_KINDS.map((k, i) => [k, i]));

function byKindThenName(a: Resource, b: Resource): number {
  return (KIND_RANK.get(a.kind) ?? 0) - (KIND_RANK.get(b.kind) ?? 0) || compareBytes(a.name, b.name);
}

/**
 * Lower a parsed file to its IR document (REFERENCE 3.1-3.3). `statements` defaults to the file's
 * own; pass the merged list (imports resolved) to lower a root with what it imports: every
 * resource then takes the root's package name. Lowering never checks references; it only fails
 * without a package header. Should two statements of one kind share a name (validation reports
 * that), only the first is lowered, so no two resources share an FQN.
 */
export function lowerFile(file: File, statements: readonly Statement[] = file.statements): IRDocument {
  const header = file.header;
  if (header === undefined) throw new LoweringError(file.path, 'missing package declaration');
  const pkg = header.name;
  const fqn = (kind: string, name: string): string => `${pkg}/${kind}/${name}`;

  const resources: Resource[] = [];
  const seen = new Set<string>();
  const imports: ImportRef[] = [];
  const plugins: PluginRef[] = [];
  const doc: IRDocument = {
    ir_version: '1.0',
    lang_version: header.lang?.value ?? '',
    package: { name: pkg, version: header.version?.value ?? '' },
    resources: null,
  };
  const policies: NonNullable<IRDocument['policies']> = [];
  const bindings: NonNullable<IRDocument['bindings']> = [];
  const deployTargets: NonNullable<IRDocument['deploy_targets']> = [];

  const add = (kind: ResourceKind, name: string, lowered: Lowered, metadata?: Record<string, string>): void => {
    const id = fqn(kind, name);
    if (seen.has(id)) return;
    seen.add(id);
    const attributes = sortKeysDeep(lowered.attributes);
    // Assigned field by field so the printed key order is kind, name, fqn, attributes, references, hash, metadata.
    const r = { kind, name, fqn: id, attributes } as Resource;
    if (lowered.references !== undefined && lowered.references.length > 0) r.references = lowered.references;
    r.hash = contentHash(attributes);
    if (metadata !== undefined) r.metadata = metadata;
    resources.push(r);
  };

  for (const s of statements) {
    switch (s.kind) {
      case 'import': {
        const ref: ImportRef = { path: s.path };
        if (s.version !== undefined && s.version.value !== '') ref.version = s.version.value;
        if (s.alias !== undefined && s.alias.value !== '') ref.alias = s.alias.value;
        imports.push(ref);
        break;
      }
      case 'plugin': {
        const ref: PluginRef = { name: s.name };
        if (s.version !== undefined && s.version.value !== '') ref.version = s.version.value;
        plugins.push(ref);
        break;
      }
      case 'prompt':
        add('Prompt', s.name, lowerPrompt(s), lowerMetadata(s.metadata));
        break;
      case 'skill':
        add('Skill', s.name, lowerSkill(s), lowerMetadata(s.metadata));
        break;
      case 'agent':
        add('Agent', s.name, lowerAgent(s, fqn), lowerMetadata(s.metadata));
        break;
      case 'server':
        add('MCPServer', s.name, lowerServer(s, fqn), lowerMetadata(s.metadata));
        break;
      case 'client':
        add('MCPClient', s.name, lowerClient(s, fqn), lowerMetadata(s.metadata));
        break;
      case 'secret':
        add('Secret', s.name, lowerSecret(s));
        break;
      case 'environment':
        add('Environment', s.name, lowerEnvironment(s));
        break;
      case 'type':
        add('Type', s.name, lowerType(s));
        break;
      case 'pipeline':
        add('Pipeline', s.name, lowerPipeline(s, fqn));
        break;
      case 'policy':
        policies.push(lowerPolicy(s));
        break;
      case 'binding':
        bindings.push(lowerBinding(s));
        break;
      case 'deploy':
        deployTargets.push(lowerDeploy(s));
        break;
    }
  }

  // Build in declaration order so the printed document keeps the documented key order.
  const out = { ir_version: doc.ir_version, lang_version: doc.lang_version, package: doc.package } as IRDocument;
  if (imports.length > 0) out.imports = imports;
  if (plugins.length > 0) out.plugins = plugins;
  out.resources = resources.length > 0 ? resources.sort(byKindThenName) : null;
  if (policies.length > 0) out.policies = policies;
  if (bindings.length > 0) out.bindings = bindings;
  if (deployTargets.length > 0) out.deploy_targets = deployTargets;
  return out;
}
