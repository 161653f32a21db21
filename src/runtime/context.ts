import type { BusyMode, SessionStore } from '../session/types.ts';
import type { AgentRunner } from './agent-loop.ts';
import type { AgentDefinition, AgentRegistry } from './agents.ts';
import type { RuntimeLimits } from './defaults.ts';
import type { PipelineRegistry } from './pipelines/index.ts';
import { notFound } from './errors.ts';

/** What every route needs: the agents, the pipelines, the runner, the session store. */
export interface RuntimeContext {
  agents: AgentRegistry;
  pipelines: PipelineRegistry;
  runner: AgentRunner;
  store: SessionStore;
  startedAt: number;
  limits: RuntimeLimits;
  /** Sessions answer only to the API key that created them (see SessionInfo.owner). */
  bindSessions: boolean;
  /** What a message to a busy session does when neither the request nor its agent says (`--on-busy`). */
  onBusy: BusyMode;
}

export function agentOr404(ctx: RuntimeContext, name: string): AgentDefinition {
  const agent = ctx.agents.get(name);
  if (agent === undefined) throw notFound(`agent "${name}" not found`);
  return agent;
}
