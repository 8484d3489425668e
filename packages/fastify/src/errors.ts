// @lameduck/fastify has no error or warning of its own: its mistakes are those of `createProbes` and
// `drainHttpServer` (`@lameduck/http`) and core's option checks. The catalogues are empty, and closed all the same.

/** The error codes `@lameduck/fastify` throws of its own: none. */
export const FASTIFY_ERROR_CODES = [] as const

/** The warning codes `@lameduck/fastify` emits of its own: none. */
export const FASTIFY_WARNING_CODES = [] as const

/** A code of {@link FASTIFY_ERROR_CODES} (none: `never`). */
export type FastifyErrorCode = (typeof FASTIFY_ERROR_CODES)[number]
/** A code of {@link FASTIFY_WARNING_CODES} (none: `never`). */
export type FastifyWarningCode = (typeof FASTIFY_WARNING_CODES)[number]
