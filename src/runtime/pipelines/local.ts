import { errorMessage } from '../../errors.ts';
import type { IRDocument } from '../../ir/types.ts';
import type { ExprValue } from '../../lang/expression.ts';
import { logger } from '../../log.ts';
import { startToolSet } from '../../tools/index.ts';
import { AgentRunner } from '../agent-loop.ts';
import { buildAgentRegistry } from '../agents.ts';
import { DEFAULT_LIMITS } from '../defaults.ts';
import { withDelegates } from '../delegation.ts';
import { ProviderRegistry } from '../providers/index.ts';
import { buildPipelineRegistry } from './definition.ts';
import { PipelineNotFoundError } from './errors.ts';
import { runPipeline, type PipelineEvent, type PipelineResult } from './run.ts';

/**
 * Run one pipeline of `docs` in this process, with the tools, agents and limits `agentspec run`
 * would serve them with (skills run, MCP servers start and stop again), without listening.
 */
export async function runPipelineInProcess(
  docs: IRDocument[],
  name: string,
  trigger: Record<string, ExprValue>,
  opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal; onEvent?: (e: PipelineEvent) => void },
): Promise<PipelineResult> {
  const tools = await startToolSet(docs, { env: opts.env });
  try {
    const agents = buildAgentRegistry(docs, new ProviderRegistry(opts.env), tools);
    const def = buildPipelineRegistry(docs, agents).get(name);
    if (def === undefined) throw new PipelineNotFoundError(name, docs.flatMap((d) => (d.resources ?? []).filter((r) => r.kind === 'Pipeline').map((r) => r.name)));
    const runner = new AgentRunner(agents, { maxFallbacks: DEFAULT_LIMITS.maxFallbacks });
    withDelegates(agents, () => runner, DEFAULT_LIMITS.maxDelegationDepth);
    return await runPipeline(def, trigger, { runner, agents, ...(opts.signal === undefined ? {} : { signal: opts.signal }), ...(opts.onEvent === undefined ? {} : { onEvent: opts.onEvent }) });
  } finally {
    try {
      await tools.close();
    } catch (err) {
      logger('runtime').error({ err: errorMessage(err) }, 'stopping the tool set (MCP servers) failed');
    }
  }
}
