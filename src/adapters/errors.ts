import { AgentspecError } from '../errors.ts';

export class PortInUseError extends AgentspecError {
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, cause?: unknown) {
    super(
      'E_PORT_IN_USE',
      `port ${port} on ${host} is already in use (EADDRINUSE): stop the program listening there or set another \`port\` in the deploy target`,
      { cause },
    );
    this.host = host;
    this.port = port;
  }
}

export class RuntimeStartError extends AgentspecError {
  readonly logPath: string;
  constructor(message: string, logPath: string, cause?: unknown) {
    super('E_RUNTIME_START', `${message} (see ${logPath})`, { cause });
    this.logPath = logPath;
  }
}

export class HealthTimeoutError extends AgentspecError {
  readonly endpoint: string;
  readonly waitedMs: number;
  /** Whether the runtime signalled that it listens (then only its health check failed). */
  readonly signalled: boolean;
  constructor(endpoint: string, waitedMs: number, logPath: string, signalled: boolean) {
    const what = signalled ? 'did not report healthy' : 'neither signalled that it listens nor reported healthy';
    super('E_HEALTH_TIMEOUT', `the runtime at ${endpoint} ${what} within ${Math.round(waitedMs / 1000)}s; it was stopped (see ${logPath})`);
    this.endpoint = endpoint;
    this.waitedMs = waitedMs;
    this.signalled = signalled;
  }
}

export class StartInterruptedError extends AgentspecError {
  constructor(pid: number) {
    super('E_INTERRUPTED', `interrupted while the runtime (pid ${pid}) was starting; it was stopped`);
  }
}

export class UnsupportedTargetError extends AgentspecError {
  readonly adapter: string;
  constructor(adapter: string) {
    super(
      'E_TARGET_UNSUPPORTED',
      `deploy target adapter "${adapter}" is not supported yet; only the process target (adapters process, local-mcp) can be applied. Choose one with --target`,
    );
    this.adapter = adapter;
  }
}

export class UnknownAdapterError extends AgentspecError {
  constructor(adapter: string, known: readonly string[]) {
    super('E_UNKNOWN_ADAPTER', `unknown adapter "${adapter}" (known: ${known.join(', ')})`);
  }
}

/** Some runtime processes of a package could not be stopped; the others were. */
export class RuntimeStopError extends AgentspecError {
  readonly package: string;
  readonly failures: ReadonlyArray<{ pid: number; error: string }>;
  constructor(pkg: string, failures: ReadonlyArray<{ pid: number; error: string }>) {
    super(
      'E_RUNTIME_STOP',
      `could not stop ${failures.length === 1 ? 'runtime process' : 'runtime processes'} of package ${pkg}: ` +
        failures.map((f) => `pid ${f.pid}: ${f.error}`).join('; '),
    );
    this.package = pkg;
    this.failures = failures;
  }
}
