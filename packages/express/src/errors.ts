// @lameduck/express has no error or warning of its own: its mistakes are those of `createProbes`
// (`@lameduck/http`) and core's option checks. The catalogues are empty, and closed all the same.

/** The error codes `@lameduck/express` throws of its own: none. */
export const EXPRESS_ERROR_CODES = [] as const

/** The warning codes `@lameduck/express` emits of its own: none. */
export const EXPRESS_WARNING_CODES = [] as const

/** A code of {@link EXPRESS_ERROR_CODES} (none: `never`). */
export type ExpressErrorCode = (typeof EXPRESS_ERROR_CODES)[number]
/** A code of {@link EXPRESS_WARNING_CODES} (none: `never`). */
export type ExpressWarningCode = (typeof EXPRESS_WARNING_CODES)[number]
