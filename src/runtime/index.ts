export { startRuntime, ListenError, type RuntimeOptions, type RunningRuntime } from './start.ts';
export { buildServer, shutdownServer, checkBindAddress, isLoopback, UnsafeBindError, type ServerOptions } from './server.ts';
export { DEFAULT_BODY_LIMIT, DEFAULT_RATE_LIMIT } from './defaults.ts';
export { buildAgentRegistry, AgentRegistry, AgentConfigError, MissingVariableError, renderPrompt, skillTool, type AgentDefinition } from './agents.ts';
export { AgentRunner, ClientGoneError, RequestTimeoutError, toolUnavailable, type RunInput, type RunResult, type Tokens, type StopReason } from './agent-loop.ts';
export { ApiKeys, apiKeysFrom, presentedKey } from './auth.ts';
export { HttpError, toHttpError, type ErrorCode } from './errors.ts';
export * from './providers/index.ts';
export { goDuration, wireToolCalls, answerBody, type WireToolCall } from './wire.ts';
