/**
 * What the MCP layer has to start, read from the IR: the servers that a served agent can reach
 * (through a `tool mcp "server/tool"` skill it uses or the client it connects to), with their
 * transport settings, and whether a failure to start them is fatal.
 *
 * Optional uses: `metadata { optional "true" }` on a skill, a client or a server. A server whose
 * every use is optional (or that is itself optional) may fail at start-up: the runtime starts
 * with a WARN, keeps retrying, and the tools answer with an error until it is up.
 */
import { attrString as str, attrStringList as strList, attrStringMap as strMap } from '../../ir/attributes.ts';
import { parseSpecDuration } from '../../ir/duration.ts';
import type { IRDocument, Resource } from '../../ir/types.ts';
import { McpConfigError } from './errors.ts';

export type McpTransportKind = 'stdio' | 'sse' | 'streamable-http';

export interface ServerConfig {
  name: string;
  fqn: string;
  hash: string;
  transport: McpTransportKind;
  command?: string;
  args: string[];
  url?: string;
  env: Record<string, string>;
  /** Name of the secret whose value is sent as a bearer token (HTTP transports). */
  auth?: string;
  /** Per-call timeout from `metadata { timeout "30s" }`, when given. */
  callTimeoutMs?: number;
  /** A failure to start is fatal unless every use is optional. */
  required: boolean;
  /** Who needs this server, for messages: `skill "x"`, `client "y"`. */
  usedBy: string[];
}

export interface SkillUse {
  skill: string;
  server: string;
  tool: string;
  optional: boolean;
}

export interface McpPlan {
  servers: Map<string, ServerConfig>;
  /** Client name -> its servers, in `connects` order. */
  clients: Map<string, string[]>;
  skills: SkillUse[];
  /** Every declared server name, started or not. */
  declared: Set<string>;
}

const isOptional = (r: Resource | undefined): boolean => r?.metadata?.optional === 'true';

/** Split `server/tool` at the first slash; the tool part may contain more slashes. */
export function splitServerTool(value: string): { server: string; tool: string } | undefined {
  const at = value.indexOf('/');
  if (at <= 0 || at === value.length - 1) return undefined;
  return { server: value.slice(0, at), tool: value.slice(at + 1) };
}

function serverConfig(r: Resource): Omit<ServerConfig, 'required' | 'usedBy'> {
  const a = r.attributes;
  const transport = str(a.transport) ?? '';
  if (transport !== 'stdio' && transport !== 'sse' && transport !== 'streamable-http') {
    throw new McpConfigError(`MCP server "${r.name}": transport "${transport}" is not supported (use stdio, sse or streamable-http)`, r.name);
  }
  const cfg: Omit<ServerConfig, 'required' | 'usedBy'> = { name: r.name, fqn: r.fqn, hash: r.hash, transport, args: strList(a.args), env: strMap(a.env) };
  const command = str(a.command);
  const url = str(a.url);
  const auth = str(a.auth);
  if (transport === 'stdio') {
    if (command === undefined || command === '') throw new McpConfigError(`MCP server "${r.name}": transport stdio needs a command`, r.name);
    cfg.command = command;
  } else {
    if (url === undefined || url === '') throw new McpConfigError(`MCP server "${r.name}": transport ${transport} needs a url`, r.name);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (err) {
      throw new McpConfigError(`MCP server "${r.name}": url "${url}" is not a valid URL (${String(err)})`, r.name);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new McpConfigError(`MCP server "${r.name}": url must be http or https, got "${url}"`, r.name);
    cfg.url = url;
  }
  if (auth !== undefined && auth !== '') cfg.auth = auth;
  const timeout = r.metadata?.timeout;
  if (timeout !== undefined) {
    const ms = parseSpecDuration(timeout);
    if (ms === undefined || ms <= 0) throw new McpConfigError(`MCP server "${r.name}": metadata timeout "${timeout}" is not a duration (like 30s or 500ms)`, r.name);
    cfg.callTimeoutMs = ms;
  }
  return cfg;
}

/** The servers, clients and MCP skill uses of the served agents, checked. */
export function planMcp(docs: readonly IRDocument[]): McpPlan {
  const servers = new Map<string, ServerConfig>();
  const clients = new Map<string, string[]>();
  const skills: SkillUse[] = [];
  const seenSkills = new Set<string>();
  const declared = new Set<string>();

  const need = (serverRes: Resource, user: string, optional: boolean): void => {
    let cfg = servers.get(serverRes.name);
    if (cfg === undefined) {
      cfg = { ...serverConfig(serverRes), required: false, usedBy: [] };
      servers.set(serverRes.name, cfg);
    } else if (cfg.hash !== serverRes.hash) {
      throw new McpConfigError(`MCP server "${serverRes.name}" is declared twice with different settings (${cfg.fqn} and ${serverRes.fqn}); one runtime has one connection per server name`, serverRes.name);
    }
    if (!cfg.usedBy.includes(user)) cfg.usedBy.push(user);
    if (!optional && !isOptional(serverRes)) cfg.required = true;
  };

  for (const doc of docs) {
    const byKind = (kind: Resource['kind']): Map<string, Resource> => new Map((doc.resources ?? []).filter((r) => r.kind === kind).map((r) => [r.name, r]));
    const skillRes = byKind('Skill');
    const serverRes = byKind('MCPServer');
    const clientRes = byKind('MCPClient');
    for (const name of serverRes.keys()) declared.add(name);
    const serverNamed = (name: string, user: string): Resource => {
      const s = serverRes.get(name);
      if (s === undefined) throw new McpConfigError(`${user}: MCP server "${name}" is not declared`, name);
      return s;
    };

    for (const agent of (doc.resources ?? []).filter((r) => r.kind === 'Agent')) {
      for (const skillName of strList(agent.attributes.skills)) {
        const skill = skillRes.get(skillName);
        const tool = skill?.attributes.tool;
        if (skill === undefined || tool === null || typeof tool !== 'object' || Array.isArray(tool) || tool.type !== 'mcp') continue;
        const key = `${doc.package.name}\0${skillName}`;
        if (seenSkills.has(key)) continue;
        seenSkills.add(key);
        const ref = splitServerTool(str(tool.server_tool) ?? '');
        if (ref === undefined) throw new McpConfigError(`skill "${skillName}": tool mcp "${str(tool.server_tool) ?? ''}" must name "server/tool"`);
        const optional = isOptional(skill);
        need(serverNamed(ref.server, `skill "${skillName}"`), `skill "${skillName}"`, optional);
        skills.push({ skill: skillName, server: ref.server, tool: ref.tool, optional });
      }
      const clientName = str(agent.attributes.client);
      if (clientName === undefined || clients.has(clientName)) continue;
      const client = clientRes.get(clientName);
      if (client === undefined) throw new McpConfigError(`agent "${agent.name}": MCP client "${clientName}" is not declared`);
      const names = strList(client.attributes.servers);
      for (const s of names) need(serverNamed(s, `client "${clientName}"`), `client "${clientName}"`, isOptional(client));
      clients.set(clientName, names);
    }
  }
  return { servers, clients, skills, declared };
}
