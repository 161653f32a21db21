// Kept apart from server.ts so the CLI can show these defaults without loading fastify.
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_RATE_LIMIT = 600;
