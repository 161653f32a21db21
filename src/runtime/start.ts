import type { FastifyInstance } from 'fastify';
import { AgentspecError, errorMessage } from '../errors.ts';
import type { IRDocument } from '../ir/types.ts';
import { logger } from '../log.ts';
import type { SessionDurability } from '../session/durability.ts';
import { MemorySessionStore } from '../session/memory-store.ts';
import type { BusyMode, SessionStore } from '../session/types.ts';
import { startToolSet, type SandboxMode, type ToolSet } from '../tools/index.ts';
import { enforcePolicies } from '../validate/policies.ts';
import { buildAgentRegistry } from './agents.ts';
import { DEFAULT_LIMITS, MIN_API_KEY_LENGTH, type RuntimeLimits } from './defaults.ts';
import { buildPipelineRegistry, type PipelineRegistry } from './pipelines/index.ts';
import { ProviderRegistry } from './providers/index.ts';
import { buildServer, checkBindAddress, shutdownServer } from './server.ts';

/** The address cannot be listened on (taken, not permitted, not local). */
export class ListenError extends AgentspecError {
  readonly host: string;
  readonly port: number;
  readonly errno: string | undefined;

  constructor(host: string, port: number, errno: string | undefined, cause: unknown) {
    const hint =
      errno === 'EADDRINUSE'
        ? 'another process is using it: stop it or choose another --port (0 picks a free one)'
        : errno === 'EACCES'
          ? 'ports below 1024 need privileges: choose a higher --port'
          : errno === 'EADDRNOTAVAIL'
            ? 'that address is not on this machine: check --host'
            : 'check --host and --port';
    super('E_LISTEN', `cannot listen on ${host}:${port} (${errno ?? errorMessage(cause)}): ${hint}`, { cause });
    this.host = host;
    this.port = port;
    this.errno = errno;
  }
}

export interface RuntimeOptions {
  documents: IRDocument[];
  host: string;
  port: number;
  apiKeys: readonly string[];
  noAuth: boolean;
  rateLimit?: number;
  bodyLimit?: number;
  limits?: Partial<RuntimeLimits>;
  trustProxy?: boolean | number | string | string[];
  /** Bind sessions to the API key that created them (default on when keys are configured). */
  bindSessions?: boolean;
  /** What a message to a busy session does when neither the request nor its agent says. */
  onBusy?: BusyMode;
  sessionStore: { kind: 'memory' | 'redis'; url?: string; ttlSeconds?: number; durability?: SessionDurability };
  /** Where provider keys and base URLs are read from; also `env(NAME)` secrets and tools' PATH. */
  env?: NodeJS.ProcessEnv;
  tools?: RuntimeToolOptions;
}

export interface RuntimeToolOptions {
  /** bubblewrap for command and inline tools: `auto` (default) uses it when it works here. */
  sandbox?: SandboxMode;
  /** JSON or dotenv file (mode 0600) behind `store(KEY)` secrets. */
  secretsFile?: string;
  /** Let http tools reach loopback and private addresses (development, tests). */
  allowPrivateNetwork?: boolean;
}

export interface RunningRuntime {
  app: FastifyInstance;
  store: SessionStore;
  tools: ToolSet;
  host: string;
  port: number;
  url: string;
  agents: string[];
  /** Graceful stop: finish in-flight requests (bounded), close the store, stop MCP servers. */
  close(graceMs?: number): Promise<void>;
}

/** An API key too short to resist guessing. */
export class WeakApiKeyError extends AgentspecError {
  readonly length: number;

  constructor(length: number) {
    super('E_WEAK_API_KEY', `an API key of ${length} characters is too short: use at least ${MIN_API_KEY_LENGTH} (e.g. \`openssl rand -hex 32\`)`);
    this.length = length;
  }
}

/** Check, build and listen. Nothing is left open when any step fails. */
export async function startRuntime(opts: RuntimeOptions): Promise<RunningRuntime> {
  for (const k of opts.apiKeys) if (k.trim().length < MIN_API_KEY_LENGTH) throw new WeakApiKeyError(k.trim().length);
  checkBindAddress(opts.host, opts.apiKeys.length > 0, opts.noAuth);
  const limits: RuntimeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const log = logger('runtime');
  const env = opts.env ?? process.env;
  // A spec that breaks its own policies never serves (an IR snapshot was not validated here).
  enforcePolicies(opts.documents);
  // Tools first: a missing binary, secret or MCP server is a start-up error, before anything listens.
  const tools = await startToolSet(opts.documents, {
    env,
    ...(opts.tools?.sandbox === undefined ? {} : { sandbox: opts.tools.sandbox }),
    ...(opts.tools?.secretsFile === undefined ? {} : { secretsFile: opts.tools.secretsFile }),
    ...(opts.tools?.allowPrivateNetwork === undefined ? {} : { allowPrivateNetwork: opts.tools.allowPrivateNetwork }),
  });
  let agents: ReturnType<typeof buildAgentRegistry>;
  let pipelines: PipelineRegistry;
  try {
    agents = buildAgentRegistry(opts.documents, new ProviderRegistry(env), tools);
    pipelines = buildPipelineRegistry(opts.documents, agents);
  } catch (err) {
    await closeTools(tools);
    throw err;
  }
  if (!tools.sandbox.active && opts.documents.some(hasProcessTools)) log.warn({ reason: tools.sandbox.reason }, 'command and inline tools run without the bubblewrap sandbox');
  for (const a of agents.list()) {
    const problem = a.resolved.provider.problem();
    if (problem !== undefined) log.warn({ agent: a.name, model: a.model, provider: a.resolved.provider.name }, `agent cannot answer until configured: ${problem}`);
  }
  if (opts.apiKeys.length === 0) log.warn({ host: opts.host }, 'no API keys configured: every caller that can reach this address may use the agents');
  let store: SessionStore;
  try {
    store =
      opts.sessionStore.kind === 'memory'
        ? new MemorySessionStore({
            ...(opts.sessionStore.ttlSeconds === undefined ? {} : { ttlSeconds: opts.sessionStore.ttlSeconds }),
            maxSessionsPerAgent: limits.maxSessionsPerAgent,
            sweepIntervalMs: limits.sweepIntervalMs,
          })
        : // The Redis client is loaded only for the Redis store.
          await (await import('../session/create.ts')).createSessionStore(opts.sessionStore);
  } catch (err) {
    await closeTools(tools);
    throw err;
  }
  let app: FastifyInstance | undefined;
  try {
    app = await buildServer({
      agents,
      pipelines,
      store,
      apiKeys: opts.apiKeys,
      ...(opts.rateLimit === undefined ? {} : { rateLimit: opts.rateLimit }),
      ...(opts.bodyLimit === undefined ? {} : { bodyLimit: opts.bodyLimit }),
      limits,
      ...(opts.trustProxy === undefined ? {} : { trustProxy: opts.trustProxy }),
      ...(opts.bindSessions === undefined ? {} : { bindSessions: opts.bindSessions }),
      ...(opts.onBusy === undefined ? {} : { onBusy: opts.onBusy }),
      noAuth: opts.noAuth,
    });
    try {
      await app.listen({ host: opts.host, port: opts.port });
    } catch (err) {
      const errno = (err as { code?: unknown }).code;
      throw new ListenError(opts.host, opts.port, typeof errno === 'string' ? errno : undefined, err);
    }
  } catch (err) {
    try {
      if (app !== undefined) await app.close();
      await store.close();
    } catch (cleanupErr) {
      log.error({ err: cleanupErr }, 'cleanup after a failed start failed');
    }
    await closeTools(tools);
    throw err;
  }
  const addr = app.server.address();
  const port = addr !== null && typeof addr === 'object' ? addr.port : opts.port;
  const urlHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const names = agents.list().map((a) => a.name);
  const running = app;
  return {
    app: running,
    store,
    tools,
    host: opts.host,
    port,
    url: `http://${urlHost}:${port}`,
    agents: names,
    close: async (graceMs?: number) => {
      try {
        await shutdownServer(running, store, graceMs);
      } finally {
        await closeTools(tools);
      }
    },
  };
}

function hasProcessTools(doc: IRDocument): boolean {
  return (doc.resources ?? []).some((r) => {
    const t = r.attributes.tool;
    return r.kind === 'Skill' && typeof t === 'object' && t !== null && !Array.isArray(t) && (t.type === 'command' || t.type === 'inline');
  });
}

/** Stopping MCP servers must not hide the error that led here; its own failure is logged. */
async function closeTools(tools: ToolSet): Promise<void> {
  try {
    await tools.close();
  } catch (err) {
    logger('runtime').error({ err: errorMessage(err) }, 'stopping the tool set (MCP servers) failed');
  }
}
