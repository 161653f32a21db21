import type { Attributes, IRDocument, Resource } from '../ir/types.ts';
import { CommandTool } from './command.ts';
import { baseToolEnv } from './env.ts';
import { ToolConfigError } from './errors.ts';
import { HttpTool } from './http.ts';
import { InlineTool } from './inline.ts';
import { errorOutcome } from './outcome.ts';
import { pathLookup } from './path.ts';
import { Redactor } from './redact.ts';
import { createSandbox, type Sandbox, type SandboxMode } from './sandbox.ts';
import { SchemaBuilder } from './schema.ts';
import { resolveSecrets } from './secrets.ts';
import { NetworkGuard } from './ssrf.ts';
import type { McpConnector, Tool, ToolCallContext, ToolOutcome, ToolSpec } from './types.ts';

export interface ToolSetOptions {
  /** The runtime's environment: PATH for binaries, `env(NAME)` secrets, PATH/HOME/locale for tools. */
  env: NodeJS.ProcessEnv;
  sandbox?: SandboxMode;
  /** Backs `store(KEY)` secrets. */
  secretsFile?: string;
  /** Lets http tools reach loopback/private/link-local addresses (development and tests only). */
  allowPrivateNetwork?: boolean;
  /** Bytes of output a tool returns before it is cut (default 256 KiB). */
  outputCap?: number;
}

const asAttrs = (v: unknown): Attributes | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Attributes) : undefined);

/** Tool results from outside our executors (MCP servers) pass through the same redaction. */
class Redacted implements Tool {
  readonly name: string;
  readonly kind: Tool['kind'];
  readonly spec: ToolSpec;

  constructor(
    private readonly inner: Tool,
    private readonly redactor: Redactor,
  ) {
    this.name = inner.name;
    this.kind = inner.kind;
    this.spec = inner.spec;
  }

  async call(input: unknown, ctx: ToolCallContext): Promise<ToolOutcome> {
    const o = await this.inner.call(input, ctx);
    return { ...o, content: this.redactor.redact(o.content) };
  }
}

/** A skill in the 1.0 `execution` form: offered, but answered with what to change. */
class LegacySkill implements Tool {
  readonly kind = 'command' as const;
  readonly name: string;

  constructor(
    readonly spec: ToolSpec,
    private readonly redactor: Redactor,
  ) {
    this.name = spec.name;
  }

  async call(): Promise<ToolOutcome> {
    return errorOutcome(`skill "${this.name}" uses the 1.0 \`execution\` form, which does not run; declare a \`tool\` block instead`, this.redactor);
  }
}

function needsMcp(docs: IRDocument[]): boolean {
  return docs.some((d) =>
    (d.resources ?? []).some((r) => r.kind === 'MCPServer' || r.kind === 'MCPClient' || (r.kind === 'Skill' && asAttrs(r.attributes.tool)?.type === 'mcp')),
  );
}

/**
 * Every skill of the served documents as a Tool, built once at start-up: binaries resolved,
 * secrets resolved, the sandbox probed, MCP servers started. Anything wrong is a start-up error
 * naming the skill.
 */
export class ToolSet {
  private readonly bySkill = new WeakMap<IRDocument, Map<string, Tool>>();
  // One wrapper per MCP tool object, so a live list does not allocate on every model call.
  private readonly redacted = new WeakMap<Tool, Tool>();

  private constructor(
    readonly redactor: Redactor,
    readonly sandbox: Sandbox,
    private readonly mcp: McpConnector | undefined,
  ) {}

  static async start(docs: IRDocument[], opts: ToolSetOptions): Promise<ToolSet> {
    const secrets = await resolveSecrets(docs, { env: opts.env, ...(opts.secretsFile === undefined ? {} : { secretsFile: opts.secretsFile }) });
    const redactor = new Redactor(secrets.values());
    const sandbox = createSandbox(opts.sandbox ?? 'auto', opts.env);
    // The MCP SDK is loaded only for a spec that uses MCP: most runtimes start without it.
    const mcp = needsMcp(docs) ? await (await import('./mcp/index.ts')).startMcp(docs, { secrets, env: opts.env }) : undefined;
    const set = new ToolSet(redactor, sandbox, mcp);
    try {
      const guard = new NetworkGuard({ allowPrivateNetwork: opts.allowPrivateNetwork === true });
      const deps = {
        which: pathLookup(opts.env.PATH),
        baseEnv: baseToolEnv(opts.env),
        sandbox,
        redactor,
        secrets,
        guard,
        ...(opts.outputCap === undefined ? {} : { outputCap: opts.outputCap }),
      };
      for (const doc of docs) {
        const resources = doc.resources ?? [];
        const schemas = new SchemaBuilder(resources.filter((r) => r.kind === 'Type'));
        const tools = new Map<string, Tool>();
        for (const r of resources) if (r.kind === 'Skill') tools.set(r.name, set.build(r, schemas, deps));
        set.bySkill.set(doc, tools);
      }
    } catch (err) {
      await set.close();
      throw err;
    }
    return set;
  }

  private build(skill: Resource, schemas: SchemaBuilder, deps: ConstructorParameters<typeof CommandTool>[2] & ConstructorParameters<typeof HttpTool>[2]): Tool {
    const spec: ToolSpec = {
      name: skill.name,
      description: typeof skill.attributes.description === 'string' ? skill.attributes.description : '',
      input_schema: schemas.forFields(skill.attributes.input),
    };
    const tool = asAttrs(skill.attributes.tool);
    if (tool === undefined) {
      if (skill.attributes.execution !== undefined) return new LegacySkill(spec, deps.redactor);
      throw new ToolConfigError(skill.name, 'has no tool block');
    }
    switch (tool.type) {
      case 'command':
        return new CommandTool(spec, tool, deps);
      case 'inline':
        return new InlineTool(spec, tool, deps);
      case 'http':
        return new HttpTool(spec, tool, deps);
      case 'mcp': {
        const ref = typeof tool.server_tool === 'string' ? tool.server_tool : '';
        const slash = ref.indexOf('/');
        if (slash <= 0 || slash === ref.length - 1) throw new ToolConfigError(skill.name, `tool mcp "${ref}" is not "server/tool"`);
        if (this.mcp === undefined) throw new ToolConfigError(skill.name, 'tool mcp needs an MCP server');
        return new Redacted(this.mcp.toolFor(skill.name, ref.slice(0, slash), ref.slice(slash + 1), spec), deps.redactor);
      }
      default:
        throw new ToolConfigError(skill.name, `tool type "${String(tool.type)}" is not one of command, http, inline, mcp`);
    }
  }

  /** The tools of one agent: its skills (in order), then the tools of the MCP client it connects to. */
  toolsFor(doc: IRDocument, agent: Resource): Tool[] {
    const skills = this.bySkill.get(doc);
    const out: Tool[] = [];
    for (const s of Array.isArray(agent.attributes.skills) ? agent.attributes.skills : []) {
      if (typeof s !== 'string') continue;
      const t = skills?.get(s);
      if (t === undefined) throw new ToolConfigError(s, `used by agent "${agent.name}" but not declared in its package`);
      out.push(t);
    }
    const client = clientOf(agent);
    if (client !== '') out.push(...this.clientToolsOf(client, agent.name));
    return out;
  }

  /** The tool of one skill of `doc`, whether or not an agent offers it to its model (`on input` runs skills itself). */
  skillOf(doc: IRDocument, skill: string): Tool | undefined {
    return this.bySkill.get(doc)?.get(skill);
  }

  /**
   * The tools the agent's MCP client offers now. A server's list changes at run time
   * (`tools/list_changed`, a restart), so this is asked at every model call, not once.
   */
  clientToolsOf(client: string, agent: string): Tool[] {
    if (this.mcp === undefined) throw new ToolConfigError(client, `agent "${agent}" connects to client "${client}", which is not declared`);
    return this.mcp.clientTools(client).map((t) => {
      let wrapped = this.redacted.get(t);
      if (wrapped === undefined) {
        wrapped = new Redacted(t, this.redactor);
        this.redacted.set(t, wrapped);
      }
      return wrapped;
    });
  }

  /** Stop every MCP server child. Safe to call twice. */
  async close(): Promise<void> {
    await this.mcp?.close();
  }
}

/** The MCP client an agent `connects to`, or ''. */
export function clientOf(agent: Resource): string {
  return typeof agent.attributes.client === 'string' ? agent.attributes.client : '';
}

export const startToolSet = (docs: IRDocument[], opts: ToolSetOptions): Promise<ToolSet> => ToolSet.start(docs, opts);
