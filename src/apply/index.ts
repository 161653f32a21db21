export { applySpec, destroySpec, type DestroyResult, type EngineOptions, type EngineResult, type PackageSpec } from './engine.ts';
export { ApplyFailedError, ApplyFencedOutError, ApplyInterruptedError } from './errors.ts';
export { interruptOutcome, trapInterrupts, type InterruptTrap } from './interrupt.ts';
export { previousAttributes } from './previous.ts';
export {
  applySummary,
  countResults,
  countsLine,
  destroySummary,
  failureLines,
  textProgress,
  type ActionResult,
  type ApplyCounts,
  type ProgressSink,
  type StartProgress,
} from './progress.ts';
export { liveRuntimePids, refreshEntries } from './refresh.ts';
export { loadDocuments, loadPackages, type LoadOptions } from './spec.ts';
export { chooseTarget, describeTarget, DEFAULT_HEALTH_PATH, DEFAULT_PORT } from './target.ts';
