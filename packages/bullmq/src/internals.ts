// The one member of BullMQ's Worker this package uses that is not public, in one place: `callProcessJob(job,
// token, signal?)`, the protected method through which the worker's main loop runs every job — a function
// processor and a sandboxed one alike. It is the extension point BullMQ's own subclasses (BullMQ Pro) and APM
// agents override, and it has had this shape since BullMQ 1 (the `signal` argument since the cancellation of
// 5.6x). `stopWorker` shadows it on the one worker instance (the kit's `shadow`), to hand each job a signal of
// its own and to settle the job's promise itself at the deadline. Without it (another Worker class), the task
// falls back to `close()` within the budget and a warning says what is lost (the README's "Without the hook").

/** The job, as far as the drain uses it: its id and `moveToWait(token)`, BullMQ's own "back to wait" script. */
export interface JobLike {
  readonly id?: string | undefined
  moveToWait(token?: string): Promise<unknown>
}

/** `callProcessJob`, as BullMQ calls it: the job, its lock token, and BullMQ's own cancellation signal (or none). */
export type CallProcessJob = (job: JobLike, token: string, signal?: AbortSignal) => Promise<unknown>

/** The worker's `callProcessJob`, or `undefined` when this worker has none. */
export function processJobHook(worker: object): CallProcessJob | undefined {
  const hook = (worker as { callProcessJob?: unknown }).callProcessJob
  return typeof hook === 'function' ? (hook as CallProcessJob) : undefined
}

/**
 * Whether the worker's main connection is a client the application gave it (`connection: redis`): BullMQ does
 * not close such a client (only the blocking connection it duplicated from it), and neither does lameduck — it is
 * the application's to close. The test is BullMQ's own (`isRedisInstance`): an object with `connect`,
 * `disconnect` and `duplicate` methods, as opposed to connection options.
 */
export function usesApplicationClient(worker: { readonly opts?: unknown }): boolean {
  const connection = (worker.opts as { connection?: unknown } | undefined)?.connection
  if (connection === null || typeof connection !== 'object') return false
  return ['connect', 'disconnect', 'duplicate'].every(
    (method) => typeof (connection as Record<string, unknown>)[method] === 'function',
  )
}

/**
 * Whether `error` is one of BullMQ's "the processor handled this job itself" errors: the job was moved (delayed,
 * back to wait, to waiting-children) or is to fail for good, or rate-limited. Read by name, as BullMQ reads them,
 * so that nothing of BullMQ is imported.
 */
export function isBullmqControlError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false
  const { name, message } = error as { name?: unknown; message?: unknown }
  return (
    name === 'DelayedError' ||
    name === 'WaitingError' ||
    name === 'WaitingChildrenError' ||
    name === 'UnrecoverableError' ||
    message === 'bullmq:rateLimitExceeded'
  )
}

/**
 * What BullMQ's worker does with a processor that rejects with it: nothing at all — no completion, no failure, no
 * attempt counted — since the job was moved out of `active` already (its `handleFailed` reads the name). The drain
 * settles a returned job's promise with it. BullMQ's own class is `WaitingError`; this one only carries its name.
 */
export class MovedToWaitError extends Error {
  override readonly name = 'WaitingError'
  constructor(jobId: string | undefined) {
    super(`bullmq:movedToWait (job ${jobId ?? '(no id)'} returned to the queue by the drain)`)
  }
}

/**
 * Whether a script's error says the job is no longer this worker's: BullMQ's codes `-1` (the job is gone: removed),
 * `-2` (its lock is missing: expired) and `-6` (its lock is another worker's), on the error's numeric `code` since
 * BullMQ 5.x, and in its message (`Missing key`, `Missing lock`, `Lock mismatch`) before.
 */
export function isNoLongerHeld(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false
  const { code, message } = error as { code?: unknown; message?: unknown }
  if (code === -1 || code === -2 || code === -6) return true
  return typeof message === 'string' && /^(?:Missing key|Missing lock|Lock mismatch) for job /.test(message)
}
