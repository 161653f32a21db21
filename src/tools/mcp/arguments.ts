/**
 * Arguments are checked against the tool's JSON Schema before anything is sent, so a model's
 * mistake comes back as a tool error naming the field instead of a round trip to the server.
 * The SDK's Ajv provider is the same validator the SDK client uses for tool output.
 */
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaType } from '@modelcontextprotocol/sdk/validation/types.js';
import { logger } from '../../log.ts';

/** Returns undefined when the input is valid, else what is wrong, naming the fields. */
export type ArgumentCheck = (input: unknown) => string | undefined;

const validator = new AjvJsonSchemaValidator();

/**
 * Compile `schema`; `undefined` when it cannot be compiled (logged: the server still validates,
 * so calls go on rather than making the tool unusable).
 */
export function compileArgumentCheck(schema: Record<string, unknown>, where: { server?: string; tool: string }): ArgumentCheck | undefined {
  // Servers declare drafts Ajv's default build does not load (2020-12); the keywords tools use
  // for arguments read the same in every draft.
  const { $schema: _ignored, ...rest } = schema;
  let check: ReturnType<AjvJsonSchemaValidator['getValidator']>;
  try {
    check = validator.getValidator(rest as JsonSchemaType);
  } catch (err) {
    logger('tools.mcp').warn({ ...where, err: String(err) }, 'tool input schema does not compile: arguments are left to the server to check');
    return undefined;
  }
  return (input) => {
    const r = check(input);
    if (r.valid) return undefined;
    // Ajv names the root `data`: say `input` as the model knows it (`input/path must be string`).
    return r.errorMessage
      .split(', ')
      .map((part) => part.replace(/^data(?=[/ .[]|$)/, 'input'))
      .join('; ');
  };
}
