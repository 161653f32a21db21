import type { SessionStore } from '../session/index.ts';
import type { AgentRunner } from './agent-loop.ts';
import type { AgentDefinition, AgentRegistry } from './agents.ts';
import { notFound } from './errors.ts';

/** What every route needs: the agents, the runner, the session store. */
export interface RuntimeContext {
  agents: AgentRegistry;
  runner: AgentRunner;
  store: SessionStore;
  startedAt: number;
}

export function agentOr404(ctx: RuntimeContext, name: string): AgentDefinition {
  const agent = ctx.agents.get(name);
  if (agent === undefined) throw notFound(`agent "${name}" not found`);
  return agent;
}
