import { ConfigurationError, DuplicateTaskError } from '../errors.js'
import type { Phase } from '../phases.js'
import type { Shutdown } from '../shutdown.js'
import type { AbandonEvent, Registration, TaskContext } from '../task.js'
import { boolean, checkOptions, orDefault } from '../validate.js'
import { duration, name as nameOption, phase as phaseOption } from './options.js'
import { shared } from './shared.js'

/** The task options every adapter accepts, under these names, with the adapter's own defaults. */
export interface AdapterTaskOptions {
  /** The task's name in the report and the logs. Default: the adapter's, numbered from the second one on (`pg-pool-2`). */
  name?: string
  /** When the task runs. Default: the adapter's phase. */
  phase?: Phase
  /** The task's budget. Default: the adapter's. */
  timeoutMs?: number
  /** Whether the task's failure makes the exit code non-zero. Default: the adapter's (usually `true`). */
  critical?: boolean
}

/** The keys of {@link AdapterTaskOptions}, for `checkOptions(where, options, [...TASK_OPTION_KEYS, …])`. */
export const TASK_OPTION_KEYS = ['name', 'phase', 'timeoutMs', 'critical'] as const

/** An adapter's defaults for its task, from its package's defaults object. */
export interface AdapterTaskDefaults {
  name: string
  phase: Phase
  timeoutMs: number
  critical: boolean
}

/** The task options after validation: every one filled in. `name` is the requested one (see `named`). */
export interface ResolvedTaskOptions extends AdapterTaskDefaults {
  /** Whether the caller chose the name: then a name already taken is an error instead of being numbered. */
  named: boolean
}

/**
 * Validates the task options in `options` (only those four keys are read; check the rest, and unknown
 * keys, with `checkOptions`) against the adapter's defaults. Errors name `where`:
 * `timeoutMs of closePool must be …`.
 */
export function taskOptions(where: string, options: AdapterTaskOptions | undefined, defaults: AdapterTaskDefaults) {
  const o = options ?? {}
  const critical = boolean(`critical of ${where}`, orDefault(o.critical, defaults.critical))
  return {
    name: nameOption(`name of ${where}`, o.name, defaults.name),
    phase: phaseOption(`phase of ${where}`, o.phase, defaults.phase),
    timeoutMs: duration(`timeoutMs of ${where}`, o.timeoutMs, defaults.timeoutMs),
    critical,
    named: o.name !== undefined,
  } satisfies ResolvedTaskOptions
}

/**
 * {@link taskOptions} for an adapter whose options are the task options and nothing else: an unknown key
 * (a typo, an option of another adapter) throws `UnknownOptionError` first, as `checkOptions` does.
 */
export function checkedTaskOptions(
  where: string,
  options: AdapterTaskOptions | undefined,
  defaults: AdapterTaskDefaults,
): ResolvedTaskOptions {
  checkOptions(where, options, TASK_OPTION_KEYS)
  return taskOptions(where, options, defaults)
}

/**
 * The same resource (a server, a pool, a client) given twice to the same adapter on one coordinator:
 * the second registration would run the same work twice (two drains of one server, two `end()`s of one
 * pool). Remove the first registration to replace it.
 */
export class DuplicateRegistrationError extends ConfigurationError {
  constructor(
    readonly where: string,
    /** The name of the registration already there (its task's). */
    readonly task: string,
    what = 'this resource',
  ) {
    super(
      'LAMEDUCK_ERR_DUPLICATE_REGISTRATION',
      `${where}: ${what} is already registered on this coordinator (as "${task}"); register it once, or ` +
        'remove() the first registration to replace it',
    )
  }
}

/** What {@link registerTask} needs. */
export interface AdapterTaskSpec {
  /** The adapter function, for messages: `'closePool'`. */
  where: string
  /** The validated task options (see {@link taskOptions}). */
  task: ResolvedTaskOptions
  run: (signal: AbortSignal, context: TaskContext) => unknown
  onAbandon?: (event: AbandonEvent) => void
  /** The task starts once the phase's other tasks have settled (`TaskSpec.last`). */
  last?: boolean
  /**
   * The object this registration takes charge of (the server, the pool, the client). The same object given
   * to the same adapter (`where`) twice on one coordinator throws {@link DuplicateRegistrationError}
   * until the first registration is removed.
   */
  resource?: object
  /** How the message calls the resource: `'this server'`, `'this pool'`. */
  resourceLabel?: string
  /** Called once by `remove()`, after the task is unregistered: take the adapter's listeners off. */
  onRemove?: () => void
}

type Claims = WeakMap<object, Map<string, WeakMap<object, string>>>
// Shared by every copy of core in the process: a resource claimed through the ESM build stays claimed
// for the CommonJS one.
const claims = (): Claims => shared('adapter:claims', () => new WeakMap())

/**
 * Registers an adapter's task with the one policy every adapter follows:
 * - **Names.** The default name is numbered when taken (`pg-pool`, `pg-pool-2`, …), so that two pools
 *   with default options both get closed; a name the caller chose that is taken throws
 *   `DuplicateTaskError`.
 * - **Resources.** The same `resource` registered twice by the same adapter throws
 *   {@link DuplicateRegistrationError}.
 * - **The handle.** A {@link Registration}: `name`, `remove()` (idempotent, also `[Symbol.dispose]`),
 *   which unregisters the task, releases the resource and calls `onRemove` — and does nothing while the
 *   task's phase runs (the task belongs to the run then; after the phase, remove() cleans up).
 */
export function registerTask(shutdown: Shutdown, spec: AdapterTaskSpec): Registration {
  const { where, task, resource } = spec
  const claim = resource === undefined ? undefined : claimResource(shutdown, where, resource, spec.resourceLabel)
  let added: Registration
  try {
    added = addTaskNumbered(shutdown, task, spec)
  } catch (error) {
    claim?.release()
    throw error
  }
  claim?.name(added.name)
  // While its phase runs the task belongs to the run: remove() then does nothing at all, so that an
  // adapter's listeners (a drain's tracker) are not taken away from a task in progress. After the phase, it
  // still cleans up (the task itself stays in the report, as with addTask).
  let running = false
  const offStart = shutdown.on('phaseStart', ({ phase }) => {
    if (phase === task.phase) running = true
  })
  const offEnd = shutdown.on('phaseEnd', ({ name: phase }) => {
    if (phase === task.phase) running = false
  })
  let removed = false
  const remove = () => {
    if (removed || running) return
    removed = true
    offStart()
    offEnd()
    added.remove()
    claim?.release()
    spec.onRemove?.()
  }
  return { name: added.name, remove, [Symbol.dispose]: remove }
}

/** What {@link claimResource} returns. */
export interface ResourceClaim {
  /** Records the name the registration got, for the message of a later duplicate. */
  name(name: string): void
  /** Gives the resource up (idempotent): the same adapter may take it again. */
  release(): void
}

/**
 * Takes charge of `resource` for the adapter `where` on this coordinator, or throws
 * {@link DuplicateRegistrationError} when that adapter has it already. `registerTask` does this for its
 * `resource`; an adapter that registers no task (metrics kept current from events) calls it itself.
 */
export function claimResource(shutdown: Shutdown, where: string, resource: object, label?: string): ResourceClaim {
  const all = claims()
  const byAdapter = all.get(shutdown) ?? new Map<string, WeakMap<object, string>>()
  all.set(shutdown, byAdapter)
  const resources = byAdapter.get(where) ?? new WeakMap<object, string>()
  byAdapter.set(where, resources)
  const taken = resources.get(resource)
  if (taken !== undefined) throw new DuplicateRegistrationError(where, taken, label)
  const token = `${where}#${++claimCount}`
  resources.set(resource, token)
  let current = token
  let released = false
  return {
    name(name) {
      if (released) return
      current = name
      resources.set(resource, name)
    },
    release() {
      if (released) return
      released = true
      if (resources.get(resource) === current) resources.delete(resource)
    },
  }
}

let claimCount = 0

function addTaskNumbered(shutdown: Shutdown, task: ResolvedTaskOptions, spec: AdapterTaskSpec): Registration {
  return addNumbered(task.name, task.named, (name) =>
    shutdown.addTask({
      name,
      phase: task.phase,
      timeoutMs: task.timeoutMs,
      critical: task.critical,
      ...(spec.last ? { last: true } : {}),
      run: spec.run,
      ...(spec.onAbandon === undefined ? {} : { onAbandon: spec.onAbandon }),
    }),
  )
}

/**
 * The naming policy of {@link registerTask}, for whatever else an adapter registers by name on the
 * coordinator (an exit flush: `addNumbered(name, named, (n) => shutdown.addExitFlush({ name: n, run }))`):
 * `add` is called with `base`, then `base-2`, `base-3`, … for as long as it throws `DuplicateTaskError`
 * (`LAMEDUCK_ERR_DUPLICATE_TASK`); a name the caller chose (`named`) is not numbered — its
 * `DuplicateTaskError` is thrown. Any other error is thrown at once.
 */
export function addNumbered<R>(base: string, named: boolean, add: (name: string) => R): R {
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`
    try {
      return add(name)
    } catch (error) {
      if (
        !(error instanceof DuplicateTaskError || (error as { code?: unknown }).code === 'LAMEDUCK_ERR_DUPLICATE_TASK')
      )
        throw error
      if (named || n >= 1000) throw error
    }
  }
}

export { checkOptions }
