import { AgentspecError } from '../../errors.ts';
import type { IRDocument } from '../../ir/types.ts';
import type { Logger } from '../../log.ts';
import type { McpConnector } from '../types.ts';

export interface McpOptions {
  /** Secret name -> resolved value (for `auth`). */
  secrets: ReadonlyMap<string, string>;
  /** Where stdio servers take PATH, HOME and the locale from. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/** This build has no MCP client. */
export class McpUnavailableError extends AgentspecError {
  constructor() {
    super('E_MCP_UNAVAILABLE', 'MCP servers are not supported by this build');
  }
}

/** The MCP side of the tool set: a connector that refuses every MCP tool. */
export async function startMcp(_docs: IRDocument[], _opts: McpOptions): Promise<McpConnector> {
  return {
    toolFor: () => {
      throw new McpUnavailableError();
    },
    clientTools: () => {
      throw new McpUnavailableError();
    },
    close: async () => undefined,
  };
}
