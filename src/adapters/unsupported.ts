import type { RuntimeInfo } from '../state/types.ts';
import { UnsupportedTargetError } from './errors.ts';
import type { Adapter, PreparedDeploy, RuntimeStatus, StopResult } from './types.ts';

/**
 * A target agentspec recognises (docker, docker-compose, kubernetes) but cannot deploy yet: every
 * operation says so instead of pretending to succeed.
 */
export class UnsupportedAdapter implements Adapter {
  readonly supported = false;
  constructor(readonly name: string) {}

  prepare(): Promise<PreparedDeploy> {
    return Promise.reject(new UnsupportedTargetError(this.name));
  }
  start(): Promise<RuntimeInfo> {
    return Promise.reject(new UnsupportedTargetError(this.name));
  }
  stop(): Promise<StopResult> {
    return Promise.reject(new UnsupportedTargetError(this.name));
  }
  rollback(): Promise<void> {
    return Promise.reject(new UnsupportedTargetError(this.name));
  }
  reap(): Promise<StopResult> {
    return Promise.reject(new UnsupportedTargetError(this.name));
  }
  inspect(): Promise<RuntimeStatus> {
    return Promise.reject(new UnsupportedTargetError(this.name));
  }
}
