import type { Registration, Shutdown, TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  duration,
  errorMessage,
  registerTask,
  requireClient,
  requireShutdown,
  type Settled,
  settleBy,
  shadow,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'
import { BULLMQ_DEFAULTS } from './defaults.js'
import {
  BullmqCloseTimeoutError,
  BullmqJobsReturnedError,
  BullmqRedisUnavailableError,
  type BullmqStopStats,
  JobCancelledError,
} from './errors.js'
import {
  type CallProcessJob,
  isBullmqControlError,
  isNoLongerHeld,
  type JobLike,
  MovedToWaitError,
  processJobHook,
  usesApplicationClient,
} from './internals.js'

type Listener = (...args: never[]) => void

/**
 * What `stopWorker` uses of a BullMQ `Worker` (BullMQ's class, or one extending it): `close()`, `disconnect()`
 * (`run()` is only checked for, to tell a Worker from a Queue),
 * `opts.connection`, its `completed` and `failed` events — and the protected `callProcessJob`, through which
 * every job is run (see the README's "How").
 */
export interface BullmqWorkerLike {
  readonly name: string
  readonly opts?: object | undefined
  run(): Promise<void>
  close(force?: boolean): Promise<void>
  disconnect(): Promise<void>
  on(event: string, listener: Listener): unknown
  off(event: string, listener: Listener): unknown
}

/**
 * What `stopWorker` returns: its {@link Registration} — `name`, `remove()` (unregisters the task and gives the
 * worker its own `callProcessJob` back; idempotent), `[Symbol.dispose]` — and what is its own.
 */
export interface WorkerStop extends Registration {
  /** Jobs this worker is running right now (those started since `stopWorker` was called). */
  active(): number
  /** What the task did, once it has run. */
  readonly stats: BullmqStopStats | undefined
}

export interface StopWorkerOptions extends AdapterTaskOptions {
  /** Task name. Default: {@link BULLMQ_DEFAULTS}`.name`, numbered for further workers (`bullmq-worker-2`, …). */
  name?: string
  /** When the worker stops taking jobs. Default: {@link BULLMQ_DEFAULTS}`.phase`. */
  phase?: AdapterTaskOptions['phase']
  /** The time the active jobs get; what still runs at its end goes back to the queue. Default: {@link BULLMQ_DEFAULTS}`.timeoutMs`. */
  timeoutMs?: number
  /** Whether jobs cut by the deadline (returned) make the exit code non-zero. Default: {@link BULLMQ_DEFAULTS}`.critical`. */
  critical?: boolean
  /** How long before the return the jobs' AbortSignal aborts. Default: {@link BULLMQ_DEFAULTS}`.cancelMs`. */
  cancelMs?: number
  /** Kept at the end of the budget to move the unfinished jobs back and close the connections. Default: {@link BULLMQ_DEFAULTS}`.returnMs`. */
  returnMs?: number
}

/** Every key `StopWorkerOptions` has, for JavaScript callers' typos. */
export const STOP_WORKER_OPTIONS = [...TASK_OPTION_KEYS, 'cancelMs', 'returnMs'] as const

const WHERE = 'stopWorker'

/** One job running through the hook, from its start to the settling of the promise BullMQ awaits. */
interface Running {
  job: JobLike
  token: string
  controller: AbortController
  /** Set once the drain aborted the job's signal: a rejection from then on sends the job back to the queue. */
  cancelled: boolean
  /** Set once the drain took the job over (returning it): the processor's outcome is ignored from then on. */
  taken: boolean
  /** Settles the promise BullMQ awaits with `MovedToWaitError`: BullMQ then does nothing more with the job. */
  release(): void
  /** Resolves when that promise has settled, whichever way. */
  settled: Promise<void>
}

/**
 * Registers, in the `drain` phase, the stop of a BullMQ worker within a budget, so that no job is left `active`
 * for the stalled-job check to find:
 *
 * - At the drain, `worker.close()` starts: the worker takes no new job (its blocking wait is interrupted), the
 *   jobs it had already fetched are started, and every active job keeps its lock (BullMQ renews it) and runs on.
 * - `cancelMs` before the return, each job still running has its AbortSignal — the processor's third argument,
 *   `(job, token, signal)` — aborted with a {@link JobCancelledError}. A processor that stops then (rejects) has its
 *   job moved back to the queue, not failed.
 * - `returnMs` before the deadline, each job still running is moved back to wait with its lock token
 *   (`job.moveToWait(token)`: its lock released, its attempts not counted), where another worker takes it at
 *   once, and its promise is settled for BullMQ with a `WaitingError` so that the worker neither completes nor
 *   fails it — whatever the processor does later is ignored. `close()` then finishes and closes the worker's
 *   connections (not a client the application passed as `connection`: that one is the application's).
 * - If Redis fails or does not answer, what could not be done is counted, `close()` is given up a little before
 *   the deadline (the worker's own connections dropped with `disconnect()`), and the task fails with
 *   {@link BullmqRedisUnavailableError}; the jobs concerned are left to BullMQ's stalled-job check.
 *
 * Call it right after `new Worker(...)`, before the worker starts a job: the jobs it runs go through it from then
 * on. Returned jobs fail the task with {@link BullmqJobsReturnedError} (`critical` decides the exit code).
 */
export function stopWorker(shutdown: Shutdown, worker: BullmqWorkerLike, options?: StopWorkerOptions): WorkerStop {
  requireShutdown(WHERE, shutdown, 'stopWorker(shutdown, worker, options?)')
  requireClient(`worker argument of ${WHERE}`, worker, 'a BullMQ Worker', ['run', 'close', 'disconnect', 'on', 'off'])
  checkOptions(WHERE, options, STOP_WORKER_OPTIONS)
  const o: StopWorkerOptions = options ?? {}
  const task = taskOptions(WHERE, o, BULLMQ_DEFAULTS)
  const cancelMs = duration(`cancelMs of ${WHERE}`, o.cancelMs, BULLMQ_DEFAULTS.cancelMs)
  const returnMs = duration(`returnMs of ${WHERE}`, o.returnMs, BULLMQ_DEFAULTS.returnMs)

  const running = new Set<Running>()
  let stats: BullmqStopStats | undefined
  // The drain's state, seen by the hook: jobs started from `draining` on are counted, from `returning` on they go
  // straight back to the queue (a job BullMQ had fetched just before the return).
  let state: 'idle' | 'draining' | 'returning' = 'idle'
  let onStart: ((entry: Running) => void) | undefined
  let name: string = task.name

  const original = processJobHook(worker)
  const hook: CallProcessJob = function callProcessJob(this: unknown, job, token, bullmqSignal) {
    if (original === undefined) throw new TypeError('unreachable: no callProcessJob to call')
    let release!: () => void
    let settle!: () => void
    const settled = new Promise<void>((resolve) => {
      settle = resolve
    })
    const controller = new AbortController()
    // BullMQ's own cancellation (worker.cancelJob) still reaches the processor, through the same signal.
    const forward = () => controller.abort(bullmqSignal?.reason)
    if (bullmqSignal?.aborted) forward()
    else bullmqSignal?.addEventListener('abort', forward, { once: true })
    const entry: Running = {
      job,
      token,
      controller,
      cancelled: false,
      taken: false,
      release: () => release(),
      settled,
    }
    const outcome = new Promise<unknown>((resolve, reject) => {
      const done = () => {
        bullmqSignal?.removeEventListener('abort', forward)
        running.delete(entry)
        settle()
      }
      release = () => {
        done()
        reject(new MovedToWaitError(job.id))
      }
      running.add(entry)
      onStart?.(entry)
      if (state === 'returning') return
      let work: Promise<unknown>
      try {
        work = Promise.resolve(original.call(this, job, token, controller.signal))
      } catch (error) {
        work = Promise.reject(error)
      }
      work.then(
        (value) => {
          if (entry.taken) return
          done()
          resolve(value)
        },
        (error: unknown) => {
          if (entry.taken) return
          // Stopped by the drain's signal: the job goes back to the queue, not to `failed`. A processor that
          // moved the job itself, or wants it failed for good, says so with BullMQ's errors: those pass.
          if (entry.cancelled && !isBullmqControlError(error)) {
            drainReturn?.(entry)
            return
          }
          done()
          reject(error)
        },
      )
    })
    return outcome
  }
  // Set while the task runs: moves a job back to wait and settles its promise.
  let drainReturn: ((entry: Running) => void) | undefined
  const restore = original === undefined ? undefined : shadow(worker, { callProcessJob: hook })

  const run = async (signal: AbortSignal, context: TaskContext) => {
    const { clock } = context
    const started = clock.now()
    state = 'draining'
    const s: BullmqStopStats = {
      activeAtStart: running.size,
      startedDuringDrain: 0,
      finished: 0,
      cancelled: 0,
      returned: 0,
      notReturned: 0,
      lost: 0,
      unrecorded: 0,
      closed: false,
      disconnected: false,
      durationMs: 0,
    }
    stats = s
    // The moments of the drain, each shortened to fit a short budget: the jobs' signals abort at `cancelAt`, what
    // still runs at `returnAt` goes back to the queue; the moves must have answered by `movesBy`, close() by
    // `closeBy`, the dropped connections by `dropBy`. The last fifth of `returnMs` is a margin: dropping
    // connections to a dead Redis fails every command queued on them at once, which takes the event loop a while.
    const returnAt = Math.max(started, context.deadline - returnMs)
    const cancelAt = Math.max(started, returnAt - cancelMs)
    const at = (fraction: number) => returnAt + (context.deadline - returnAt) * fraction
    const movesBy = at(0.4)
    const closeBy = at(0.6)
    const dropBy = at(0.8)

    // A finished job's result is recorded by BullMQ after the processor settles: `completed`/`failed` say it was.
    const awaitingRecord = new Set<string | undefined>()
    const recorded = (job: { id?: string | undefined }) => awaitingRecord.delete(job?.id)
    worker.on('completed', recorded)
    worker.on('failed', recorded)
    const watch = (entry: Running) => {
      entry.settled.then(() => {
        if (entry.taken) return
        s.finished++
        awaitingRecord.add(entry.job.id)
      })
    }
    for (const entry of running) watch(entry)
    onStart = (entry) => {
      s.startedDuringDrain++
      watch(entry)
      if (state === 'returning') drainReturn?.(entry)
    }

    // Moving back: one script per job, all at once, each bounded by the budget. The job's promise is settled for
    // BullMQ once the move has answered (or could not), never before: BullMQ must not touch the job meanwhile.
    let redisError: unknown
    drainReturn = (entry) => {
      if (entry.taken) return
      entry.taken = true
      const move = settleBy(entry.job.moveToWait(entry.token), movesBy, { clock }).then(
        (answer: Settled<unknown>) => {
          if (answer.done) s.returned++
          else {
            s.notReturned++
            redisError ??= new Error('Redis did not answer in time')
          }
        },
        (error: unknown) => {
          if (isNoLongerHeld(error)) s.lost++
          else {
            s.notReturned++
            redisError ??= error
          }
        },
      )
      void move.then(() => entry.release())
    }

    let closeError: unknown
    const closing = Promise.resolve()
      .then(() => worker.close())
      .then(
        () => {
          s.closed = true
        },
        (error: unknown) => {
          closeError = error
        },
      )
    try {
      // 1. Every job may finish by itself until `cancelAt`; then each still running is told to stop…
      if (!(await settleBy(closing, cancelAt, { clock, signal })).done) {
        for (const entry of running) {
          if (entry.taken) continue
          entry.cancelled = true
          s.cancelled++
          entry.controller.abort(new JobCancelledError(entry.job.id, name))
        }
        // 2. …and until `returnAt` to do so; what runs then goes back to the queue.
        if (!(await settleBy(closing, returnAt, { clock, signal })).done) {
          state = 'returning'
          for (const entry of running) drainReturn(entry)
        }
      }
      // 3. close() ends once every job's promise has settled (a returned job's once its move has answered): it is
      // given until `closeBy`, then the worker's own connections are dropped.
      await settleBy(closing, closeBy, { clock, signal })
      if (!s.closed && !usesApplicationClient(worker)) {
        s.disconnected = true
        const dropped = Promise.resolve()
          .then(() => worker.disconnect())
          .catch(() => {})
        await settleBy(dropped, dropBy, { clock, signal })
      }
    } finally {
      worker.off('completed', recorded)
      worker.off('failed', recorded)
      onStart = undefined
    }
    // A job still running and never taken over can only be left if close() ended without waiting for it (BullMQ's
    // close() waits for every job): it was neither finished nor returned, so it is left to the stalled-job check.
    for (const entry of running) if (!entry.taken) s.notReturned++
    s.unrecorded = s.closed ? 0 : awaitingRecord.size
    s.durationMs = Math.round(clock.now() - started)
    const snapshot = { ...s }
    if (redisError !== undefined || s.notReturned > 0 || s.unrecorded > 0) {
      const cause = redisError ?? closeError
      let detail = cause !== undefined ? errorMessage(cause) : 'commands without an answer when the budget ran out'
      if (!s.closed && usesApplicationClient(worker))
        detail +=
          "; the worker's connection is the client the application passed: left open, for the application to close"
      throw new BullmqRedisUnavailableError(snapshot, detail, cause === undefined ? undefined : { cause })
    }
    if (!s.closed) throw new BullmqCloseTimeoutError(snapshot, closeBy - started)
    if (s.returned > 0 || s.lost > 0) throw new BullmqJobsReturnedError(snapshot)
    shutdown.logger.info(
      { event: 'bullmq.stopped', task: name, queue: worker.name, ...snapshot },
      `${name}: worker of queue "${worker.name}" stopped in ${s.durationMs} ms, ${s.finished} job(s) finished`,
    )
  }
  const spec = { where: WHERE, task, resource: worker, resourceLabel: 'this Worker', run, onRemove: () => restore?.() }
  const registration = registerTask(shutdown, spec)
  name = registration.name
  if (original === undefined)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_BULLMQ_INTERNALS',
      message:
        `${name}: this Worker has no callProcessJob(): its jobs get no AbortSignal from the drain and cannot be ` +
        'returned to the queue at the deadline; the drain only closes the worker within its budget, and jobs still ' +
        'running then are left active for the stalled-job check.',
    })

  return {
    name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    active: () => running.size,
    get stats() {
      return stats
    },
  }
}
