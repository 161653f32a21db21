import type { Attributes, IRDocument, Resource } from '../../src/ir/types.ts';
import { MemorySessionStore } from '../../src/session/index.ts';
import { buildAgentRegistry, buildServer, ProviderRegistry } from '../../src/runtime/index.ts';
import type { FastifyInstance } from 'fastify';
import type { SessionStore } from '../../src/session/index.ts';
import type { ToolSet } from '../../src/tools/index.ts';

export interface AgentSpec {
  name: string;
  model?: string;
  prompt?: string;
  skills?: string[];
  attrs?: Attributes;
}

export interface DocSpec {
  pkg?: string;
  agents: AgentSpec[];
  prompts?: Record<string, { content: string; variables?: Array<{ name: string; type?: string; required?: boolean; default?: string }> }>;
  skills?: Record<string, { description: string; input: Array<{ name: string; type: string; required?: boolean }>; tool?: Attributes }>;
  /** Extra resources (Secret, Type, MCPServer...) as they are. */
  extra?: Resource[];
}

export function res(pkg: string, kind: Resource['kind'], name: string, attributes: Attributes): Resource {
  return { kind, name, fqn: `${pkg}/${kind}/${name}`, attributes, hash: 'sha256:test' };
}

/** An IR document as the compiler produces it (only the fields the runtime reads matter). */
export function irDoc(spec: DocSpec): IRDocument {
  const pkg = spec.pkg ?? 'test-pkg';
  const resources: Resource[] = [];
  for (const a of spec.agents) {
    const attrs: Attributes = { model: a.model ?? 'echo', prompt: a.prompt ?? 'system', ...(a.attrs ?? {}) };
    if (a.skills !== undefined) attrs.skills = a.skills;
    resources.push(res(pkg, 'Agent', a.name, attrs));
  }
  const prompts = spec.prompts ?? { system: { content: 'You are a test assistant.' } };
  for (const [name, p] of Object.entries(prompts)) {
    const attrs: Attributes = { content: p.content };
    if (p.variables !== undefined) {
      attrs.variables = p.variables.map((v) => ({
        name: v.name,
        type: v.type ?? 'string',
        ...(v.required === true ? { required: true } : {}),
        ...(v.default === undefined ? {} : { default: v.default }),
      }));
    }
    resources.push(res(pkg, 'Prompt', name, attrs));
  }
  for (const [name, s] of Object.entries(spec.skills ?? {})) {
    resources.push(
      res(pkg, 'Skill', name, {
        description: s.description,
        input: s.input.map((f) => ({ name: f.name, type: f.type, ...(f.required === true ? { required: true } : {}) })),
        output: [{ name: 'result', type: 'string' }],
        tool: s.tool ?? { type: 'command', binary: 'x' },
      }),
    );
  }
  resources.push(...(spec.extra ?? []));
  return { ir_version: '1.0', lang_version: '2.0', package: { name: pkg, version: '0.1.0' }, resources };
}

export interface TestServer {
  app: FastifyInstance;
  url: string;
  store: SessionStore;
  close(): Promise<void>;
}

/** A real server on a free loopback port. */
export async function startTestServer(
  docs: IRDocument[],
  opts: { store?: SessionStore; apiKeys?: string[]; rateLimit?: number; bodyLimit?: number; env?: NodeJS.ProcessEnv; tools?: ToolSet } = {},
): Promise<TestServer> {
  const store = opts.store ?? new MemorySessionStore({});
  const agents = buildAgentRegistry(docs, new ProviderRegistry(opts.env ?? {}), opts.tools);
  const app = await buildServer({
    agents,
    store,
    apiKeys: opts.apiKeys ?? [],
    rateLimit: opts.rateLimit ?? 0,
    ...(opts.bodyLimit === undefined ? {} : { bodyLimit: opts.bodyLimit }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    app,
    url: `http://127.0.0.1:${addr.port}`,
    store,
    close: async () => {
      await app.close();
      await store.close();
      await opts.tools?.close();
    },
  };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function call(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Tool calls in the response's wire shape, each answered "not available" (a registry without a tool set). */
export function unavailableCalls(calls: Array<{ id: string; name: string; input: unknown }>, agent: string): unknown[] {
  return calls.map((c) => ({
    id: c.id,
    tool_name: c.name,
    input: c.input,
    output: null,
    duration_ms: 0,
    error: `tool "${c.name}" is not available to agent "${agent}"; answer without it`,
  }));
}
