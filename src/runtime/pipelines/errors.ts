import { AgentspecError } from '../../errors.ts';

/** No served pipeline has this name. */
export class PipelineNotFoundError extends AgentspecError {
  readonly pipeline: string;

  constructor(pipeline: string, known: readonly string[]) {
    super('E_PIPELINE_NOT_FOUND', `pipeline "${pipeline}" not found${known.length === 0 ? ' (the spec declares none)' : ` (declared: ${[...known].sort().join(', ')})`}`);
    this.pipeline = pipeline;
  }
}
