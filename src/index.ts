// The library entry (`@agentspec/cli`): compile specs, compute plans, parse and format IntentLang.
// The state backends have their own entry, `@agentspec/cli/state`.
export { VERSION } from './version.ts';
export { AgentspecError, ExitCode, UsageError } from './errors.ts';
export { compileSpec, checkSpec, applyEnvironment, contentHash, canonicalJson, SpecInvalidError } from './ir/index.ts';
export type { CompileOptions, CompiledSpec, IRDocument } from './ir/index.ts';
export { parse, format, formatDiagnostics, type Diagnostic } from './lang/index.ts';
export { computePlan, renderPlan, planToJson, hasChanges, type Plan } from './plan/index.ts';
