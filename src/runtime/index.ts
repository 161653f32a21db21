export { startRuntime, ListenError, WeakApiKeyError, type RuntimeOptions, type RunningRuntime } from './start.ts';
export { buildServer, shutdownServer, checkBindAddress, isLoopback, UnsafeBindError, type ServerOptions } from './server.ts';
export { DEFAULT_BODY_LIMIT, DEFAULT_LIMITS, DEFAULT_RATE_LIMIT, LIMIT_OPTIONS, MIN_API_KEY_LENGTH, type RuntimeLimits } from './defaults.ts';
export { buildAgentRegistry, AgentRegistry, AgentConfigError, InvalidVariableError, MissingVariableError, VariableTooLargeError, renderPrompt, turnVariables, skillTool, type AgentDefinition } from './agents.ts';
export { AgentRunner, ClientGoneError, RequestTimeoutError, toolUnavailable, type RunInput, type RunResult, type Tokens, type StopReason } from './agent-loop.ts';
export { ApiKeys, apiKeysFrom, presentedKey } from './auth.ts';
export { HttpError, toHttpError, type ErrorCode } from './errors.ts';
export * from './providers/index.ts';
export { goDuration, wireToolCalls, answerBody, doneBody, type WireToolCall } from './wire.ts';
