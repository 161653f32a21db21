import { AgentspecError, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import type { Tool, ToolCallContext, ToolOutcome, ToolSpec } from '../tools/index.ts';
import type { AgentRunner, RunResult } from './agent-loop.ts';
import type { AgentDefinition, AgentRegistry, DelegateRef } from './agents.ts';
import { runFrameOf } from './run-frame.ts';
import { addUsage } from './tokens.ts';

/** Tool names the providers accept: Anthropic and OpenAI both allow `^[a-zA-Z0-9_-]{1,64}$`. */
const MAX_TOOL_NAME = 64;
const PREFIX = 'delegate_to_';

/**
 * The tool name an agent's delegate is offered under: `delegate_to_` + the agent name with every
 * character a provider refuses replaced by `_`, cut to 64 characters, and numbered when two
 * delegates (or a delegate and a skill) would otherwise share a name.
 */
export function delegateToolName(agent: string, taken: ReadonlySet<string>): string {
  const base = (PREFIX + agent.replace(/[^A-Za-z0-9_-]/g, '_')).slice(0, MAX_TOOL_NAME);
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const suffix = `_${i}`;
    const name = base.slice(0, MAX_TOOL_NAME - suffix.length) + suffix;
    if (!taken.has(name)) return name;
  }
}

/** What the model reads about a delegate: the spec's `when`, else a plain sentence. */
function delegateSpec(name: string, d: DelegateRef): ToolSpec {
  const when = d.condition.trim();
  return {
    name,
    description: when === '' ? `Hand a task to agent "${d.agent}" and get its answer.` : `Hand a task to agent "${d.agent}" when ${when}. Returns its answer.`,
    input_schema: {
      type: 'object',
      properties: { task: { type: 'string', description: `The message for agent "${d.agent}": everything it needs, it sees nothing else of this conversation.` } },
      required: ['task'],
      additionalProperties: false,
    },
  };
}

/**
 * A delegate offered to the model as a tool: a call runs the delegate agent (its own prompt, model,
 * tools, limits and timeout, under the caller's deadline and client) with the task as its message,
 * and answers with the delegate's output. Its tokens are added to the calling run's, so they count
 * toward the caller's `token_budget` and appear in the caller's reported tokens.
 */
export class DelegateTool implements Tool {
  readonly kind = 'delegate' as const;
  readonly name: string;
  readonly spec: ToolSpec;

  constructor(
    name: string,
    private readonly ref: DelegateRef,
    private readonly deps: { agents: AgentRegistry; runner: () => AgentRunner; maxDepth: number },
  ) {
    this.name = name;
    this.spec = delegateSpec(name, ref);
  }

  async call(input: unknown, ctx: ToolCallContext): Promise<ToolOutcome> {
    const task = typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>).task : undefined;
    if (typeof task !== 'string' || task.trim() === '') return refused(`invalid arguments for "${this.name}": task: must be a non-empty string`);
    const frame = runFrameOf(ctx.signal);
    const chain = frame?.chain ?? [ctx.agent];
    const target = this.deps.agents.get(this.ref.agent);
    if (target === undefined) return refused(`agent "${this.ref.agent}" is not served`);
    if (chain.includes(target.name)) return refused(`delegation cycle refused: ${[...chain, target.name].join(' -> ')}`);
    // The depth is the number of delegations: the caller's chain minus the agent asked first.
    if (chain.length > this.deps.maxDepth) {
      return refused(`delegation depth limit of ${this.deps.maxDepth} reached (${chain.join(' -> ')}); raise it with --max-delegation-depth`);
    }
    const caller = this.deps.agents.get(ctx.agent);
    const left = caller?.tokenBudget === undefined || frame === undefined ? undefined : caller.tokenBudget - frame.tokens.total;
    if (left !== undefined && left <= 0) return refused(`the token budget of agent "${ctx.agent}" is used up; answer without delegating`);
    const started = performance.now();
    let result: RunResult;
    try {
      result = await this.deps.runner().run(capBudget(target, left), {
        message: task,
        variables: { ...(frame?.variables ?? {}) },
        history: [],
        signal: ctx.signal,
        delegatedBy: chain,
        ...(ctx.session === undefined ? {} : { sessionId: ctx.session }),
      });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const code = err instanceof AgentspecError ? err.code : 'E_INTERNAL';
      logger('runtime').warn({ agent: ctx.agent, delegate: target.name, code, err: errorMessage(err) }, 'delegate failed');
      return refused(`agent "${target.name}" failed (${code}); answer without it or try again`);
    }
    if (frame !== undefined) addUsage(frame.tokens, result.tokens);
    logger('runtime').info(
      { agent: ctx.agent, delegate: target.name, answered_by: result.answered_by, depth: chain.length, tokens: result.tokens.total, turns: result.turns, duration_ms: Math.round(performance.now() - started), stop_reason: result.stop_reason },
      'agent delegated',
    );
    return { content: result.output, is_error: false, truncated: false, bytes: Buffer.byteLength(result.output, 'utf8') };
  }
}

function refused(message: string): ToolOutcome {
  return { content: message, is_error: true, truncated: false, bytes: 0 };
}

/** The delegate may spend no more than what the caller has left of its budget. */
function capBudget(agent: AgentDefinition, left: number | undefined): AgentDefinition {
  if (left === undefined || (agent.tokenBudget !== undefined && agent.tokenBudget <= left)) return agent;
  // A view, not a copy: tools and executors may be live accessors (MCP clients).
  return Object.create(agent, { tokenBudget: { value: left, enumerable: true } }) as AgentDefinition;
}

// Agents whose delegates are already offered: a registry served twice must not offer them twice.
const offering = new WeakSet<AgentDefinition>();

/**
 * Offer every agent's delegates as tools beside its own (the definitions in `agents` are changed
 * in place; agents without delegates are left as they are). `runner` is asked at call time, so
 * the runner may be built on this same registry.
 */
export function withDelegates(agents: AgentRegistry, runner: () => AgentRunner, maxDepth: number): void {
  for (const agent of agents.list()) {
    if (agent.delegates.length === 0 || offering.has(agent)) continue;
    offering.add(agent);
    let base = { tools: agent.tools, executors: agent.executors };
    const build = (): { tools: AgentDefinition['tools']; executors: AgentDefinition['executors'] } => {
      const executors = new Map(base.executors);
      for (const d of agent.delegates) {
        const name = delegateToolName(d.agent, new Set(executors.keys()));
        executors.set(name, new DelegateTool(name, d, { agents, runner, maxDepth }));
      }
      return { tools: [...base.tools, ...[...executors.values()].filter((t) => t.kind === 'delegate').map((t) => t.spec)], executors };
    };
    let built = build();
    // The accessors of an agent that connects to an MCP client, taken before they are replaced.
    const liveTools = Object.getOwnPropertyDescriptor(agent, 'tools')?.get;
    const liveExecutors = Object.getOwnPropertyDescriptor(agent, 'executors')?.get;
    const current = (): typeof built => {
      if (liveTools === undefined || liveExecutors === undefined) return built;
      const now = { tools: liveTools.call(agent) as AgentDefinition['tools'], executors: liveExecutors.call(agent) as AgentDefinition['executors'] };
      // Rebuilt only when the MCP client's list changed (the accessor returns the same arrays otherwise).
      if (now.tools !== base.tools || now.executors !== base.executors) {
        base = now;
        built = build();
      }
      return built;
    };
    Object.defineProperties(agent, {
      tools: { get: () => current().tools, enumerable: true, configurable: true },
      executors: { get: () => current().executors, enumerable: true, configurable: true },
    });
  }
}
