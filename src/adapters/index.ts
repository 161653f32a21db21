export {
  HealthTimeoutError,
  PortInUseError,
  RuntimeStartError,
  StartInterruptedError,
  UnknownAdapterError,
  UnsupportedTargetError,
} from './errors.ts';
export { logPath, pidPath, snapshotPath, workDir } from './paths.ts';
export { ProcessAdapter, type ProcessAdapterOptions } from './process-adapter.ts';
export { findRuntimes, isAlive, isRuntimeOf } from './processes.ts';
export { ADAPTER_NAMES, adapterFor, adapterForEntry } from './registry.ts';
export type {
  Adapter,
  DeployRequest,
  HealthState,
  PreparedDeploy,
  RuntimeState,
  RuntimeStatus,
  Standby,
  StartOptions,
  StopResult,
  TargetChoice,
} from './types.ts';
export { UnsupportedAdapter } from './unsupported.ts';
