import type { AgentStmt, OnInputStmt, Statement } from '../lang/ast.ts';
import type { Diagnostic } from '../lang/diagnostics.ts';
import { q, Reporter, type ValidationInput } from './context.ts';
import { suggestName } from './suggest.ts';

type NameKind = 'Agent' | 'Prompt' | 'Skill' | 'MCPServer' | 'MCPClient' | 'Secret';

/** Declared names per kind over the whole merged statement list. */
function collectNames(statements: readonly Statement[]): Record<NameKind, Set<string>> {
  const names: Record<NameKind, Set<string>> = {
    Agent: new Set(),
    Prompt: new Set(),
    Skill: new Set(),
    MCPServer: new Set(),
    MCPClient: new Set(),
    Secret: new Set(),
  };
  for (const s of statements) {
    if (s.kind === 'agent') names.Agent.add(s.name);
    else if (s.kind === 'prompt') names.Prompt.add(s.name);
    else if (s.kind === 'skill') names.Skill.add(s.name);
    else if (s.kind === 'server') names.MCPServer.add(s.name);
    else if (s.kind === 'client') names.MCPClient.add(s.name);
    else if (s.kind === 'secret') names.Secret.add(s.name);
  }
  return names;
}

/** `{{ name }}` references in prompt content, trimmed, in order. */
export function templateVariables(content: string): string[] {
  const out: string[] = [];
  // Every `{{` opens a reference up to the next `}}`, overlapping openings included, as the
  // original scanned it.
  for (let i = 0; i < content.length - 3; i++) {
    if (content[i] !== '{' || content[i + 1] !== '{') continue;
    const end = content.indexOf('}}', i + 2);
    if (end >= 0) out.push(content.slice(i + 2, end).trim());
  }
  return out;
}

/** REFERENCE 4.4: every reference resolves, with a "did you mean" hint when it does not. */
export function validateSemantic(input: ValidationInput): Diagnostic[] {
  const r = new Reporter(input);
  const names = collectNames(input.statements);
  const missing = (stmt: Statement, kind: NameKind, name: string, pos: { line: number; column: number }, message: string): void => {
    if (!names[kind].has(name)) r.at(stmt, pos, message, suggestName(name, names[kind]));
  };

  const onInput = (a: AgentStmt, body: OnInputStmt[]): void => {
    for (const s of body) {
      if (s.kind === 'use') missing(a, 'Skill', s.skill, s.pos, `skill ${q(s.skill)} not found`);
      else if (s.kind === 'delegate') missing(a, 'Agent', s.agent, s.pos, `delegate agent ${q(s.agent)} not found`);
      else if (s.kind === 'if') {
        onInput(a, s.body);
        for (const e of s.elseIfs) onInput(a, e.body);
        if (s.elseBody !== undefined) onInput(a, s.elseBody);
      } else if (s.kind === 'for_each') onInput(a, s.body);
    }
  };

  for (const s of input.statements) {
    switch (s.kind) {
      case 'agent':
        if (s.prompt !== undefined) missing(s, 'Prompt', s.prompt.value, s.prompt.afterPos, `prompt ${q(s.prompt.value)} not found`);
        for (const sk of s.skills) missing(s, 'Skill', sk.value, sk.afterPos, `skill ${q(sk.value)} not found`);
        if (s.client !== undefined) missing(s, 'MCPClient', s.client.value, s.client.afterPos, `client ${q(s.client.value)} not found`);
        if (s.fallback !== undefined && s.fallback.value !== '') {
          missing(s, 'Agent', s.fallback.value, s.pos, `fallback agent ${q(s.fallback.value)} not found`);
          if (s.fallback.value === s.name) r.at(s, s.pos, `agent ${q(s.name)} cannot fallback to itself`);
        }
        for (const d of s.delegates) missing(s, 'Agent', d.agent, d.toPos, `delegate agent ${q(d.agent)} not found`);
        if (s.onInput !== undefined) onInput(s, s.onInput.body);
        break;
      case 'skill': {
        const tool = s.tool;
        if (tool?.type === 'mcp' && tool.serverTool.value !== '') {
          const ref = tool.serverTool.value;
          const slash = ref.indexOf('/');
          if (slash >= 0) {
            const server = ref.slice(0, slash);
            missing(s, 'MCPServer', server, tool.serverTool.pos, `MCP server ${q(server)} not found in tool reference ${q(ref)}`);
          }
        }
        break;
      }
      case 'client':
        for (const c of s.connects) missing(s, 'MCPServer', c.value, c.afterPos, `server ${q(c.value)} not found`);
        break;
      case 'pipeline':
        for (const step of s.steps) {
          const agent = step.agent?.value ?? '';
          if (agent !== '') missing(s, 'Agent', agent, step.namePos, `step ${q(step.name)} references unknown agent ${q(agent)}`);
        }
        break;
      case 'prompt':
        if (s.variables !== undefined && s.variables.entries.length > 0) {
          const declared = new Set(s.variables.entries.map((v) => v.name));
          for (const v of templateVariables(s.content?.value ?? '')) {
            if (!declared.has(v)) {
              r.at(s, s.pos, `prompt ${q(s.name)} references undeclared variable {{${v}}}`, 'add variable declaration in the variables block');
            }
          }
        }
        break;
      case 'server':
        for (const e of s.exposes) missing(s, 'Skill', e.value, e.afterPos, `skill ${q(e.value)} not found`);
        if (s.auth !== undefined) missing(s, 'Secret', s.auth.value, s.auth.afterPos, `secret ${q(s.auth.value)} not found`);
        break;
      default:
        break;
    }
  }

  const origin = { line: 1, column: 1 };
  const defaultBindings = input.statements.filter((s) => s.kind === 'binding' && s.default?.value === true).length;
  if (defaultBindings > 1) r.at(undefined, origin, 'multiple bindings marked as default', 'only one binding may be the default');
  const defaultDeploys = input.statements.filter((s) => s.kind === 'deploy' && s.default?.value === true).length;
  if (defaultDeploys > 1) r.at(undefined, origin, 'multiple deploy targets marked as default', 'only one deploy target may be the default');
  return r.diagnostics;
}
