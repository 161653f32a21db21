import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration } from 'prom-client';
import { errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { FencedAppendError, IdempotencyKeyUsedError, InvalidMessageError, InvalidMessageRangeError, SessionNotFoundError } from '../session/errors.ts';
import type { SessionStore } from '../session/types.ts';
import { VERSION } from '../version.ts';
import { BucketHistogram, type HistogramSeries } from './bucket-histogram.ts';
import type { AgentRegistry } from './agents.ts';
import type { TokenUsage } from './providers/index.ts';

/** Seconds; from a fast local model or tool to a slow multi-minute model answer. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const TOKEN_KINDS = ['input', 'output', 'cache_read'] as const;

export type ModelOutcome = 'ok' | 'error' | 'aborted';

/**
 * Where the agent loop counts its model and tool calls: a server's RuntimeMetrics, handed to
 * its AgentRunner (a runner used on its own has none and counts nothing).
 */
export interface CallMetrics {
  modelCall(agent: string, provider: string, outcome: ModelOutcome, seconds: number, usage?: TokenUsage): void;
  toolCall(skill: string, kind: string, outcome: string, seconds: number): void;
}

/**
 * Increments of one counter held as plain numbers per series until a scrape hands them to
 * prom-client: its `inc` builds a hash of the labels and checks them on every call, and each
 * request makes several. The first increment of a series creates it, so it shows from then on.
 */
class PendingCounts<L extends string> {
  private readonly series = new Map<string, { labels: Partial<Record<L, string>>; pending: number }>();
  private readonly counter: Counter<L>;

  constructor(config: Omit<CounterConfiguration<L>, 'collect'>) {
    this.counter = new Counter({ ...config, collect: () => this.flush() });
  }

  /**
   * The series `key` names (its label values, joined), made on first use; `labels` is called
   * only then. The caller holds it and adds to its `pending`.
   */
  seriesOf(key: string, labels: () => Partial<Record<L, string>>): { pending: number } {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: labels(), pending: 0 };
      this.series.set(key, s);
      this.counter.inc(s.labels, 0);
    }
    return s;
  }

  flush(): void {
    for (const s of this.series.values()) {
      if (s.pending === 0) continue;
      this.counter.inc(s.labels, s.pending);
      s.pending = 0;
    }
  }
}

/** What one (route, method) of the HTTP metrics counts into, held so a request looks nothing up by label. */
interface RouteSeries {
  duration: HistogramSeries;
  byStatus: Map<number, { pending: number }>;
}

/** What one (agent, provider, outcome) of the model metrics counts into; `tokens` in TOKEN_KINDS order. */
interface ModelSeries {
  duration: HistogramSeries;
  tokens?: Array<{ pending: number }>;
}

/**
 * The runtime's Prometheus metrics. Each server owns one (with its own registry), so several
 * servers in one process never mix their numbers.
 */
export class RuntimeMetrics implements CallMetrics {
  readonly registry = new Registry();
  private readonly httpRequests: PendingCounts<'method' | 'route' | 'status'>;
  private readonly httpDuration: BucketHistogram<'method' | 'route'>;
  /** Route pattern -> method -> its series. Both are bounded: patterns and the methods HTTP parsing accepts. */
  private readonly routeSeries = new Map<string, Map<string, RouteSeries>>();
  private readonly modelDuration: BucketHistogram<'agent' | 'provider' | 'outcome'>;
  /** Agent -> provider -> outcome -> its series (a model call is made at least once per turn): names looked up as they are, no key built per call. */
  private readonly modelSeries = new Map<string, Map<string, Partial<Record<ModelOutcome, ModelSeries>>>>();
  private readonly modelTokens: PendingCounts<'agent' | 'provider' | 'kind'>;
  private readonly toolCalls: Counter<'skill' | 'kind' | 'outcome'>;
  private readonly toolDuration: Histogram<'skill' | 'kind'>;
  private readonly sessionAppends: Counter;
  private readonly sessionMessages: Counter;
  private readonly storeErrors: Counter<'operation' | 'code'>;

  /** `activeSessions` counts one agent's live sessions; it is asked at each scrape. */
  constructor(opts: { agents: AgentRegistry; activeSessions: (agent: string) => Promise<number> }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters fail `promtool check metrics`; their per-type siblings remain.
    for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
    new Gauge({ name: 'agentspec_build_info', help: 'Always 1; the version label says which agentspec serves.', labelNames: ['version'], registers }).set(
      { version: VERSION },
      1,
    );
    this.httpRequests = new PendingCounts({
      name: 'agentspec_http_requests_total',
      help: 'HTTP requests answered, by route pattern (unmatched for unknown paths) and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new BucketHistogram({
      name: 'agentspec_http_request_duration_seconds',
      help: 'Time from request to the end of the response (a stream ends with its last event).',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.modelDuration = new BucketHistogram({
      name: 'agentspec_model_call_duration_seconds',
      help: 'One call to the model provider (each retry is a call of its own).',
      labelNames: ['agent', 'provider', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.modelTokens = new PendingCounts({
      name: 'agentspec_model_tokens_total',
      help: 'Tokens the provider reported, by kind: input (not from cache), output, cache_read.',
      labelNames: ['agent', 'provider', 'kind'],
      registers,
    });
    this.toolCalls = new Counter({
      name: 'agentspec_tool_calls_total',
      help: 'Tool calls made by agents, by skill, tool kind and outcome.',
      labelNames: ['skill', 'kind', 'outcome'],
      registers,
    });
    this.toolDuration = new Histogram({
      name: 'agentspec_tool_call_duration_seconds',
      help: 'Duration of one tool call.',
      labelNames: ['skill', 'kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.sessionAppends = new Counter({ name: 'agentspec_session_appends_total', help: 'Turns appended to session histories.', registers });
    this.sessionMessages = new Counter({ name: 'agentspec_session_messages_appended_total', help: 'Messages appended to session histories.', registers });
    this.storeErrors = new Counter({
      name: 'agentspec_session_store_errors_total',
      help: 'Session store operations that failed on the store side (outage, corrupt data), by operation and error code.',
      labelNames: ['operation', 'code'],
      registers,
    });
    new Gauge({
      name: 'agentspec_active_sessions',
      help: 'Sessions that exist (not expired) per agent, counted when scraped.',
      labelNames: ['agent'],
      registers,
      async collect() {
        this.reset();
        for (const a of opts.agents.list()) {
          try {
            this.set({ agent: a.name }, await opts.activeSessions(a.name));
          } catch (err) {
            // The store error is counted by the instrumented store; the gauge stays empty rather than stale.
            logger('metrics').warn({ agent: a.name, err: errorMessage(err) }, 'cannot count active sessions');
            this.reset();
            return;
          }
        }
      },
    });
  }

  request(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.routeSeries.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.routeSeries.set(route, byMethod);
    }
    let series = byMethod.get(method);
    if (series === undefined) {
      series = { duration: this.httpDuration.seriesOf({ method, route }), byStatus: new Map() };
      byMethod.set(method, series);
    }
    let count = series.byStatus.get(status);
    if (count === undefined) {
      count = this.httpRequests.seriesOf(`${method} ${route} ${status}`, () => ({ method, route, status: String(status) }));
      series.byStatus.set(status, count);
    }
    count.pending++;
    series.duration.observe(seconds);
  }

  modelCall(agent: string, provider: string, outcome: ModelOutcome, seconds: number, usage?: TokenUsage): void {
    let byProvider = this.modelSeries.get(agent);
    if (byProvider === undefined) this.modelSeries.set(agent, (byProvider = new Map()));
    let byOutcome = byProvider.get(provider);
    if (byOutcome === undefined) byProvider.set(provider, (byOutcome = {}));
    let series = byOutcome[outcome];
    if (series === undefined) byOutcome[outcome] = series = { duration: this.modelDuration.seriesOf({ agent, provider, outcome }) };
    series.duration.observe(seconds);
    if (usage === undefined) return;
    // Made at the first call that reports usage: a provider that never does shows no token series.
    series.tokens ??= TOKEN_KINDS.map((kind) => this.modelTokens.seriesOf(`${agent}\n${provider}\n${kind}`, () => ({ agent, provider, kind })));
    for (let i = 0; i < TOKEN_KINDS.length; i++) series.tokens[i]!.pending += usage[TOKEN_KINDS[i]!];
  }

  toolCall(skill: string, kind: string, outcome: string, seconds: number): void {
    this.toolCalls.inc({ skill, kind, outcome });
    this.toolDuration.observe({ skill, kind }, seconds);
  }

  sessionAppend(messages: number): void {
    this.sessionAppends.inc();
    this.sessionMessages.inc(messages);
  }

  storeError(operation: string, code: string): void {
    this.storeErrors.inc({ operation, code });
  }

  /** The text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

// Failures that are the caller's (a missing session, a bad page range), not the store's.
const CALLER_ERRORS = [SessionNotFoundError, InvalidMessageError, InvalidMessageRangeError, FencedAppendError, IdempotencyKeyUsedError];

/**
 * `store` with its failures and appends counted. Every method is wrapped, whatever the interface
 * grows, and runs on the real store (`this` included), so behaviour is unchanged.
 */
export function instrumentStore(store: SessionStore, metrics: RuntimeMetrics): SessionStore {
  // Each method is wrapped once, not at every access: a request makes several store calls.
  const wrapped = new Map<string, { original: unknown; wrapper: unknown }>();
  return new Proxy(store, {
    get(target, prop) {
      // The real store as `this`, also for getters: private fields are not reachable through a proxy.
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const known = wrapped.get(prop);
      if (known?.original === value) return known.wrapper;
      const failed = (err: unknown): never => {
        if (!CALLER_ERRORS.some((cls) => err instanceof cls)) {
          const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'unknown';
          metrics.storeError(prop, code);
        }
        throw err;
      };
      const succeeded = (result: unknown, args: unknown[]): unknown => {
        if (prop === 'appendMessages') metrics.sessionAppend(Array.isArray(args[1]) ? args[1].length : 0);
        return result;
      };
      const wrapper = (...args: unknown[]): unknown => {
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          return failed(err);
        }
        if (result instanceof Promise) return result.then((r: unknown) => succeeded(r, args), failed);
        return succeeded(result, args);
      };
      wrapped.set(prop, { original: value, wrapper });
      return wrapper;
    },
  });
}
