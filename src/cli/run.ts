import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { AgentspecError, UsageError, errorMessage } from '../errors.ts';
import { signalReady, waitForGo } from '../adapters/readiness.ts';
import { applyEnvironment, compileSpec, SpecInvalidError, type IRDocument } from '../ir/index.ts';
import { logger } from '../log.ts';
import { DEFAULT_LIMITS, DEFAULT_ON_BUSY, DEFAULT_RATE_LIMIT, LIMIT_OPTIONS, type RuntimeLimits } from '../runtime/defaults.ts';
import { SESSION_DURABILITY_MODES, type SessionDurability } from '../session/durability.ts';
import { BUSY_MODES, type BusyMode } from '../session/types.ts';
import { action, io, parseDuration } from './context.ts';

interface RunFlags {
  ir?: string;
  port: string;
  host: string;
  env?: string;
  sessionStore: 'memory' | 'redis';
  redisUrl?: string;
  sessionTtl: string;
  sessionDurability?: string;
  apiKey: string[];
  auth: boolean;
  rateLimit: string;
  apiKeyFile?: string;
  trustProxy?: string;
  sessionBinding: boolean;
  toolSandbox?: string;
  secretsFile?: string;
  allowPrivateNetwork?: boolean;
  onBusy?: string;
  [limitFlag: string]: unknown;
}

/** The IR snapshot could not be read as IR documents. */
export class IrSnapshotError extends AgentspecError {
  readonly path: string;

  constructor(path: string, reason: string, cause?: unknown) {
    super('E_IR_SNAPSHOT', `${path}: not a usable IR snapshot (${reason}); write one with \`agentspec ir\` or run from .ias files`, { cause });
    this.path = path;
  }
}

function isIrDocument(v: unknown): v is IRDocument {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const d = v as Record<string, unknown>;
  return typeof d.ir_version === 'string' && typeof d.package === 'object' && d.package !== null && (d.resources === null || Array.isArray(d.resources));
}

/** An IR document, or an array of them, from a JSON file (the snapshot `apply` writes). */
export async function loadIrSnapshot(path: string): Promise<IRDocument[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new IrSnapshotError(path, errorMessage(err), err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new IrSnapshotError(path, `invalid JSON: ${errorMessage(err)}`, err);
  }
  const docs = Array.isArray(parsed) ? parsed : [parsed];
  docs.forEach((d, i) => {
    if (!isIrDocument(d)) throw new IrSnapshotError(path, `element ${i} lacks ir_version, package or resources`);
  });
  return docs as IRDocument[];
}

function intFlag(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag}: "${value}" is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${flag}: ${n} is out of range (${min}..${max})`);
  return n;
}

/** The camelCase property commander gives a `--kebab-case` flag. */
function flagProperty(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Every limit from its flag, else its environment variable, else the default. */
export function limitsFrom(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): RuntimeLimits {
  const limits: RuntimeLimits = { ...DEFAULT_LIMITS };
  for (const o of LIMIT_OPTIONS) {
    const fromFlag = flags[flagProperty(o.flag)];
    const raw = typeof fromFlag === 'string' ? fromFlag : env[o.env];
    if (raw === undefined || raw === '') continue;
    const name = typeof fromFlag === 'string' ? o.flag : o.env;
    limits[o.key] = o.unit === 'duration' ? parseDuration(name, raw) : intFlag(name, raw, o.key === 'sweepIntervalMs' ? 0 : 1, Number.MAX_SAFE_INTEGER);
    if (o.unit === 'duration' && o.key !== 'sweepIntervalMs' && limits[o.key] < 1) throw new UsageError(`${name}: must be at least 1ms`);
  }
  if (limits.historyDefaultLimit > limits.historyMaxLimit) {
    throw new UsageError(`--history-page (${limits.historyDefaultLimit}) cannot be larger than --history-max-page (${limits.historyMaxLimit})`);
  }
  return limits;
}

/** API keys from a file, one a line; blank lines and `#` comments are skipped. */
export async function readApiKeyFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--api-key-file: cannot read ${path}: ${errorMessage(err)}`);
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** `true`/`false`, a hop count, or a comma-separated list of proxy addresses/CIDRs. */
export function trustProxyFrom(value: string | undefined): boolean | number | string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v.split(',').map((a) => a.trim()).filter((a) => a !== '');
}

async function loadDocuments(paths: string[], flags: RunFlags): Promise<IRDocument[]> {
  if (flags.ir !== undefined) {
    if (paths.length > 0) throw new UsageError('give either .ias files/directories or --ir, not both');
    const docs = await loadIrSnapshot(flags.ir);
    return flags.env === undefined ? docs : docs.map((d) => applyEnvironment(d, flags.env));
  }
  if (paths.length === 0) throw new UsageError('nothing to serve: give .ias files or directories, or --ir SNAPSHOT.json');
  const { documents, diagnostics } = await compileSpec(paths, flags.env === undefined ? {} : { env: flags.env });
  if (diagnostics.length > 0) throw new SpecInvalidError(diagnostics);
  return documents;
}

const TOOL_SANDBOX_MODES = ['auto', 'required', 'off'] as const;

/** `--on-busy`, else AGENTSPEC_ON_BUSY, else the default. */
export function onBusyFrom(flag: string | undefined, env: NodeJS.ProcessEnv): BusyMode {
  const raw = flag ?? (env.AGENTSPEC_ON_BUSY || undefined);
  if (raw === undefined) return DEFAULT_ON_BUSY;
  const mode = BUSY_MODES.find((m) => m === raw);
  if (mode === undefined) throw new UsageError(`${flag === undefined ? 'AGENTSPEC_ON_BUSY' : '--on-busy'}: "${raw}" is not one of ${BUSY_MODES.join(', ')}`);
  return mode;
}

/** Tool flags, each with its environment variable (the process adapter passes the environment on). */
function toolOptions(flags: RunFlags, env: NodeJS.ProcessEnv): { sandbox: (typeof TOOL_SANDBOX_MODES)[number]; secretsFile?: string; allowPrivateNetwork: boolean } {
  const mode = flags.toolSandbox ?? env.AGENTSPEC_TOOL_SANDBOX ?? 'auto';
  const sandbox = TOOL_SANDBOX_MODES.find((m) => m === mode);
  if (sandbox === undefined) throw new UsageError(`--tool-sandbox: "${mode}" is not one of ${TOOL_SANDBOX_MODES.join(', ')}`);
  const secretsFile = flags.secretsFile ?? (env.AGENTSPEC_SECRETS_FILE || undefined);
  const allowEnv = (env.AGENTSPEC_ALLOW_PRIVATE_NETWORK ?? '').toLowerCase();
  return {
    sandbox,
    ...(secretsFile === undefined ? {} : { secretsFile }),
    allowPrivateNetwork: flags.allowPrivateNetwork === true || allowEnv === '1' || allowEnv === 'true' || allowEnv === 'yes',
  };
}

/** `--session-durability`, else AGENTSPEC_SESSION_DURABILITY, else `ack`; `fsync` needs the Redis store. */
export function durabilityFrom(flag: string | undefined, env: NodeJS.ProcessEnv, store: 'memory' | 'redis'): SessionDurability {
  const raw = flag ?? (env.AGENTSPEC_SESSION_DURABILITY || 'ack');
  const name = flag === undefined ? 'AGENTSPEC_SESSION_DURABILITY' : '--session-durability';
  const mode = SESSION_DURABILITY_MODES.find((m) => m === raw);
  if (mode === undefined) throw new UsageError(`${name}: "${raw}" is not one of ${SESSION_DURABILITY_MODES.join(', ')}`);
  if (mode === 'fsync' && store !== 'redis') throw new UsageError(`${name} fsync needs --session-store redis: the memory store keeps nothing on disk`);
  return mode;
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('serve the agents of a package over HTTP, with conversation sessions (see docs/runtime.md)')
    .argument('[paths...]', '.ias files or directories')
    .option('--ir <file>', 'serve an IR snapshot (JSON document or array) instead of compiling .ias files')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8080')
    .option('--host <host>', 'address to listen on; without API keys only loopback is allowed', '127.0.0.1')
    .option('--env <name>', 'apply this environment\'s overrides')
    .addOption(new Option('--session-store <kind>', 'where conversations are kept').choices(['memory', 'redis']).default('memory'))
    .option('--redis-url <url>', 'Redis for --session-store redis (default: REDIS_URL)')
    .option('--session-ttl <duration>', 'idle time after which a conversation expires', '24h')
    .option('--session-durability <mode>', 'ack: an append is acknowledged once Redis applied it; fsync: once it is in Redis\'s append-only file on disk (Redis >= 7.2; also AGENTSPEC_SESSION_DURABILITY)')
    .option('--api-key <key>', 'accept this API key (repeatable; also AGENTSPEC_API_KEYS, comma-separated)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--no-auth', 'allow listening beyond loopback without API keys')
    .option('--rate-limit <n>', 'requests per minute per API key (or client IP); 0 turns it off', String(DEFAULT_RATE_LIMIT))
    .option('--api-key-file <file>', 'accept the API keys in this file, one a line (keeps them out of ps; also AGENTSPEC_API_KEY_FILE)')
    .option('--trust-proxy <value>', 'behind a reverse proxy: true, a hop count, or proxy addresses whose X-Forwarded-For is believed (also AGENTSPEC_TRUST_PROXY)')
    .option('--no-session-binding', 'let any valid API key use any session (default: a session answers only to the key that created it)')
    .option('--tool-sandbox <mode>', 'run command and inline tools in bubblewrap: auto, required or off (also AGENTSPEC_TOOL_SANDBOX)')
    .option('--secrets-file <file>', 'JSON or dotenv file (mode 0600) behind store(KEY) secrets (also AGENTSPEC_SECRETS_FILE)')
    .option('--allow-private-network', 'let http tools reach loopback and private addresses, for development (also AGENTSPEC_ALLOW_PRIVATE_NETWORK=1)')
    .option('--on-busy <mode>', `what a message to a busy session does: ${BUSY_MODES.join(', ')} (default ${DEFAULT_ON_BUSY}; also AGENTSPEC_ON_BUSY)`);
  for (const o of LIMIT_OPTIONS) {
    cmd.option(`${o.flag} <${o.unit === 'duration' ? 'duration' : 'n'}>`, `${o.description} (default ${o.unit === 'duration' ? `${DEFAULT_LIMITS[o.key]}ms` : DEFAULT_LIMITS[o.key]}; also ${o.env})`);
  }
  cmd.action(
      action(async (paths: string[], flags: RunFlags) => {
        const port = intFlag('--port', flags.port, 0, 65535);
        const rateLimit = intFlag('--rate-limit', flags.rateLimit, 0, 1_000_000_000);
        const ttlMs = parseDuration('--session-ttl', flags.sessionTtl);
        const limits = limitsFrom(flags, process.env);
        const keyFile = flags.apiKeyFile ?? process.env.AGENTSPEC_API_KEY_FILE;
        const fileKeys = keyFile === undefined || keyFile === '' ? [] : await readApiKeyFile(keyFile);
        const trustProxy = trustProxyFrom(flags.trustProxy ?? process.env.AGENTSPEC_TRUST_PROXY);
        const binding = process.env.AGENTSPEC_SESSION_BINDING;
        const bindSessions = flags.sessionBinding && binding !== 'off' && binding !== 'false';
        if (ttlMs < 1000) throw new UsageError('--session-ttl: must be at least 1s');
        const durability = durabilityFrom(flags.sessionDurability, process.env, flags.sessionStore);
        const tools = toolOptions(flags, process.env);
        const onBusy = onBusyFrom(flags.onBusy, process.env);
        // Started ahead by apply (see adapters/readiness.ts): load the code the start needs,
        // then wait to be told to go before reading the snapshot or binding the port.
        const go = waitForGo();
        if (go !== undefined) {
          await import('../runtime/index.ts');
          // The logger's first line would load pino (and pino-pretty): reading any property builds it.
          void logger('runtime').level;
          if (!(await go)) return 0;
        }
        const documents = await loadDocuments(paths, flags);
        const redisUrl = flags.redisUrl ?? process.env.REDIS_URL;
        // Loaded here, not at the top: fastify and the Redis client are only needed by `run`,
        // and every other command's start-up would pay for them.
        const { apiKeysFrom, startRuntime } = await import('../runtime/index.ts');
        const running = await startRuntime({
          documents,
          host: flags.host,
          port,
          apiKeys: [...apiKeysFrom(process.env, flags.apiKey), ...fileKeys],
          noAuth: !flags.auth,
          rateLimit,
          limits,
          bindSessions,
          onBusy,
          ...(trustProxy === undefined ? {} : { trustProxy }),
          tools,
          sessionStore: {
            kind: flags.sessionStore,
            ttlSeconds: Math.ceil(ttlMs / 1000),
            ...(flags.sessionStore === 'redis' && redisUrl !== undefined ? { url: redisUrl } : {}),
            ...(flags.sessionStore === 'redis' ? { durability } : {}),
          },
        });
        const log = logger('runtime');
        log.info({ host: running.host, port: running.port, agents: running.agents, session_store: flags.sessionStore }, 'runtime listening');
        // Listening for signals before saying so: a supervisor may send SIGTERM the moment it
        // reads the line, and an unhandled one would end the process without a clean shutdown.
        const stopped = waitForSignal();
        io.out(`listening on ${running.url}\n`);
        signalReady();
        const signal = await stopped;
        log.info({ signal }, 'shutting down: finishing in-flight requests');
        const forced = (sig: NodeJS.Signals): void => {
          log.error({ signal: sig }, 'second signal during shutdown: exiting now');
          process.exit(130);
        };
        process.once('SIGTERM', forced);
        process.once('SIGINT', forced);
        try {
          await running.close(10_000);
        } finally {
          process.off('SIGTERM', forced);
          process.off('SIGINT', forced);
        }
        log.info('runtime stopped');
        return 0;
      }),
    );
}
