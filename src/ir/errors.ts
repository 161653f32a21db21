import { AgentspecError } from '../errors.ts';

/** `--env NAME` names an environment the spec does not declare. */
export class EnvironmentNotFoundError extends AgentspecError {
  readonly environment: string;
  readonly available: string[];

  constructor(environment: string, available: string[]) {
    const list = available.length > 0 ? ` (available: ${available.join(', ')})` : ' (the spec declares no environment)';
    super('E_ENV_NOT_FOUND', `environment "${environment}" not found${list}`);
    this.environment = environment;
    this.available = available;
  }
}

/** An environment override that cannot be applied: unknown target or a value of the wrong type. */
export class EnvironmentOverrideError extends AgentspecError {
  readonly environment: string;
  readonly target: string;
  readonly attribute: string | undefined;
  readonly value: string | undefined;

  constructor(
    message: string,
    fields: { environment: string; target: string; attribute?: string; value?: string },
  ) {
    super('E_ENV_OVERRIDE', message);
    this.environment = fields.environment;
    this.target = fields.target;
    this.attribute = fields.attribute;
    this.value = fields.value;
  }
}

/** No binding or deploy target could be chosen for apply/status/destroy. */
export class NoDeployTargetError extends AgentspecError {
  readonly requested: string | undefined;
  readonly available: string[];

  constructor(requested: string | undefined, available: string[]) {
    const message =
      requested === undefined
        ? available.length > 0
          ? `no deploy target found (use --target to specify; available: ${available.join(', ')})`
          : 'no deploy target found (use --target to specify)'
        : `no deploy target found: no binding or deploy target named "${requested}"` +
          (available.length > 0 ? ` (available: ${available.join(', ')})` : ' (the spec declares none)');
    super('E_NO_DEPLOY_TARGET', message);
    this.requested = requested;
    this.available = available;
  }
}

/** Lowering needs the package header (its name prefixes every FQN). */
export class LoweringError extends AgentspecError {
  readonly file: string;

  constructor(file: string, message: string) {
    super('E_LOWER', `${file}: ${message}`);
    this.file = file;
  }
}
