import { AgentspecError } from '../../errors.ts';

/** The spec asks for something the MCP layer cannot do (unknown server, bad transport, missing secret). */
export class McpConfigError extends AgentspecError {
  readonly server: string | undefined;

  constructor(message: string, server?: string) {
    super('E_MCP_CONFIG', message);
    this.server = server;
  }
}

/** A required MCP server did not start (or did not answer `initialize`) at runtime start-up. */
export class McpStartError extends AgentspecError {
  readonly server: string;
  /** The last lines the server wrote to stderr, when it is a local process. */
  readonly stderr: string[];

  constructor(server: string, reason: string, stderr: string[], cause?: unknown) {
    const tail = stderr.length > 0 ? `\n  server stderr:\n    ${stderr.join('\n    ')}` : '';
    super('E_MCP_START', `MCP server "${server}" failed to start: ${reason}${tail}`, { cause });
    this.server = server;
    this.stderr = stderr;
  }
}

/** A skill names a tool its server does not offer. */
export class McpToolNotFoundError extends AgentspecError {
  readonly skill: string;
  readonly server: string;
  readonly tool: string;
  readonly available: string[];

  constructor(skill: string, server: string, tool: string, available: string[]) {
    const list = available.length > 0 ? available.join(', ') : 'none';
    super('E_MCP_TOOL_NOT_FOUND', `skill "${skill}": MCP server "${server}" has no tool "${tool}" (available: ${list})`);
    this.skill = skill;
    this.server = server;
    this.tool = tool;
    this.available = available;
  }
}
