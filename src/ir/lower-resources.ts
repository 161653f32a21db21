import type {
  ClientStmt,
  EnvironmentStmt,
  Field,
  PipelineStmt,
  PromptStmt,
  SecretStmt,
  ServerStmt,
  SkillStmt,
  Tool,
  TypeStmt,
} from '../lang/ast.ts';
import { recordOf } from './json.ts';
import type { Attributes, JsonValue } from './types.ts';

export type FqnOf = (kind: string, name: string) => string;
export interface Lowered {
  attributes: Attributes;
  references?: string[];
}

type Obj = { [k: string]: JsonValue };

function setIf(obj: Obj, key: string, value: string | undefined): void {
  if (value !== undefined && value !== '') obj[key] = value;
}

function setMapIf(obj: Obj, key: string, record: Record<string, string>): void {
  if (Object.keys(record).length > 0) obj[key] = record;
}

export function lowerPrompt(p: PromptStmt): Lowered {
  const attrs: Attributes = { content: p.content?.value ?? '' };
  setIf(attrs, 'version', p.version?.value);
  if (p.variables !== undefined && p.variables.entries.length > 0) {
    attrs.variables = p.variables.entries.map((v) => {
      const out: Obj = { name: v.name, type: v.type };
      if (v.required) out.required = true;
      setIf(out, 'default', v.default);
      return out;
    });
  }
  return { attributes: attrs };
}

function lowerFields(fields: Field[]): JsonValue[] {
  return fields.map((f) => {
    const out: Obj = { name: f.name, type: f.type };
    if (f.required) out.required = true;
    return out;
  });
}

function lowerTool(t: Tool): Obj {
  const out: Obj = { type: t.type };
  switch (t.type) {
    case 'mcp':
      out.server_tool = t.serverTool.value;
      break;
    case 'http':
      setIf(out, 'method', t.method?.value);
      setIf(out, 'url', t.url?.value);
      setMapIf(out, 'headers', recordOf(t.headers));
      setIf(out, 'body_template', t.bodyTemplate?.value);
      setIf(out, 'timeout', t.timeout?.value);
      break;
    case 'command':
      setIf(out, 'binary', t.binary?.value);
      if (t.args !== undefined && t.args.value.length > 0) out.args = [...t.args.value];
      setIf(out, 'timeout', t.timeout?.value);
      setMapIf(out, 'env', recordOf(t.env));
      setMapIf(out, 'secrets', recordOf(t.secrets));
      break;
    case 'inline':
      setIf(out, 'language', t.language?.value);
      setIf(out, 'code', t.code?.value);
      setIf(out, 'memory_limit', t.memory?.value);
      setIf(out, 'timeout', t.timeout?.value);
      break;
    case '':
      break;
  }
  return out;
}

export function lowerSkill(s: SkillStmt): Lowered {
  const attrs: Attributes = { description: s.description?.value ?? '' };
  if (s.execution !== undefined) attrs.execution = { type: s.execution.kindWord, value: s.execution.value };
  if (s.tool !== undefined) attrs.tool = lowerTool(s.tool);
  if (s.input !== undefined && s.input.fields.length > 0) attrs.input = lowerFields(s.input.fields);
  if (s.output !== undefined && s.output.fields.length > 0) attrs.output = lowerFields(s.output.fields);
  return { attributes: attrs };
}

export function lowerServer(s: ServerStmt, fqn: FqnOf): Lowered {
  const attrs: Attributes = { transport: s.transport?.value ?? '' };
  setIf(attrs, 'command', s.command?.value);
  if (s.args !== undefined && s.args.value.length > 0) attrs.args = [...s.args.value];
  setIf(attrs, 'url', s.url?.value);
  setMapIf(attrs, 'env', recordOf(s.env));
  const refs: string[] = [];
  if (s.auth !== undefined) {
    attrs.auth = s.auth.value;
    refs.push(fqn('Secret', s.auth.value));
  }
  for (const e of s.exposes) refs.push(fqn('Skill', e.value));
  return { attributes: attrs, references: refs };
}

export function lowerClient(c: ClientStmt, fqn: FqnOf): Lowered {
  const attrs: Attributes = {};
  if (c.connects.length > 0) attrs.servers = c.connects.map((s) => s.value);
  return { attributes: attrs, references: c.connects.map((s) => fqn('MCPServer', s.value)) };
}

export function lowerSecret(s: SecretStmt): Lowered {
  return { attributes: { source: s.source?.source ?? '', key: s.source?.key ?? '' } };
}

export function lowerEnvironment(e: EnvironmentStmt): Lowered {
  const overrides: JsonValue[] = [];
  for (const t of e.targets) {
    for (const a of t.attributes) {
      overrides.push({ resource: `${t.kindWord}/${t.name}`, attribute: a.attribute, value: a.value });
    }
  }
  return { attributes: { name: e.name, overrides } };
}

export function lowerType(t: TypeStmt): Lowered {
  const attrs: Attributes = { name: t.name };
  const body = t.body;
  if (body?.form === 'enum' && body.values.length > 0) attrs.enum = [...body.values];
  if (body?.form === 'list') setIf(attrs, 'list_of', body.of);
  if (body?.form === 'fields' && body.fields.length > 0) {
    attrs.fields = body.fields.map((f) => {
      const out: Obj = { name: f.name, type: f.type };
      if (f.required) out.required = true;
      setIf(out, 'default', f.default);
      return out;
    });
  }
  return { attributes: attrs };
}

export function lowerPipeline(p: PipelineStmt, fqn: FqnOf): Lowered {
  const attrs: Attributes = { name: p.name };
  const refs: string[] = [];
  if (p.steps.length > 0) {
    attrs.steps = p.steps.map((s) => {
      const out: Obj = { name: s.name };
      if (s.agent !== undefined && s.agent.value !== '') {
        out.agent = s.agent.value;
        refs.push(fqn('Agent', s.agent.value));
      }
      setIf(out, 'input', s.input?.value);
      setIf(out, 'output', s.output?.value);
      if (s.dependsOn !== undefined && s.dependsOn.value.length > 0) out.depends_on = [...s.dependsOn.value];
      if (s.parallel?.value === true) out.parallel = true;
      setIf(out, 'when', s.when?.value);
      return out;
    });
  }
  return { attributes: attrs, references: refs };
}
