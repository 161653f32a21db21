import { AgentspecError } from '../errors.ts';

/** A skill cannot become a tool as declared (missing binary, unknown language, bad timeout...). */
export class ToolConfigError extends AgentspecError {
  readonly skill: string;

  constructor(skill: string, message: string, cause?: unknown) {
    super('E_TOOL_CONFIG', `skill "${skill}": ${message}`, { cause });
    this.skill = skill;
  }
}

/** A secret could not be resolved at start-up. Never carries the value. */
export class SecretError extends AgentspecError {
  readonly secret: string;

  constructor(secret: string, message: string, cause?: unknown) {
    super('E_SECRET', `secret "${secret}": ${message}`, { cause });
    this.secret = secret;
  }
}

/** The secrets file given by --secrets-file is unusable (unreadable, not JSON/dotenv, readable by others). */
export class SecretsFileError extends AgentspecError {
  readonly path: string;

  constructor(path: string, message: string, cause?: unknown) {
    super('E_SECRETS_FILE', `${path}: ${message}`, { cause });
    this.path = path;
  }
}

/** `--tool-sandbox required` and bubblewrap cannot run here. */
export class SandboxUnavailableError extends AgentspecError {
  readonly reason: string;

  constructor(reason: string) {
    super('E_SANDBOX_UNAVAILABLE', `--tool-sandbox required, but bubblewrap cannot run: ${reason} (install bubblewrap, or use --tool-sandbox auto|off)`);
    this.reason = reason;
  }
}
