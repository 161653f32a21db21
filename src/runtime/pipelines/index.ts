export { buildPipelineRegistry, PipelineConfigError, PipelineRegistry, type PipelineDefinition, type StepDefinition } from './definition.ts';
export { runPipeline, type PipelineEvent, type PipelineResult, type PipelineRunOptions, type PipelineStatus, type StepResult, type StepStatus } from './run.ts';
export { PipelineNotFoundError } from './errors.ts';
export { runPipelineInProcess } from './local.ts';
