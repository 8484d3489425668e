import { type AdapterTaskOptions, TASK_OPTION_KEYS } from './register.js'

type TaskOptionKey = (typeof TASK_OPTION_KEYS)[number]

/**
 * The keys `checkOptions` knows for an adapter's options `O`: the task options' and `O`'s own, which `own`
 * lists, each as `key: true` — every one of them: a key added to `O` and not to `own`, or one in `own` that
 * `O` lacks, does not compile.
 *
 * @example
 * export const LOCKS_OPTIONS = optionKeys<RedisLocksOptions>({ keyPrefix: true, batchSize: true, retryDelayMs: true })
 * checkOptions('createLocks', options, LOCKS_OPTIONS)
 */
export function optionKeys<O extends AdapterTaskOptions>(
  own: Record<Exclude<keyof O, TaskOptionKey>, true>,
): readonly (keyof O & string)[] {
  return [...TASK_OPTION_KEYS, ...(Object.keys(own) as (keyof O & string)[])]
}
