export type * from './types.ts';
export { RESOURCE_KINDS } from './types.ts';
export { canonicalJson, contentHash, compareBytes } from './hash.ts';
export { lowerFile } from './lower.ts';
export { applyEnvironment } from './environment.ts';
export { selectTarget, selectBinding, adapterForDeployTarget, REGISTERED_ADAPTERS, type SelectedTarget } from './target.ts';
export {
  compileSpec,
  checkSpec,
  SpecInvalidError,
  type CompileOptions,
  type CompiledSpec,
  type CheckedSpec,
  type CheckedRoot,
} from './compile.ts';
export { EnvironmentNotFoundError, EnvironmentOverrideError, NoDeployTargetError, LoweringError } from './errors.ts';
