/**
 * The names `@lameduck/otel` gives what it records: spans, their attributes, metrics. Attribute and metric
 * names follow OpenTelemetry's naming rules (dotted namespaces, none also the name of an attribute, snake_case
 * words, durations of metrics in seconds); span names are low-cardinality (a phase name, a task name). The README lists each, checked by a
 * test.
 */
export const OTEL_CONVENTIONS = {
  spans: {
    /** The run: from the first trigger to the start of the flush. Root span, so not part of a request's trace. */
    run: 'lameduck shutdown',
    /** One per phase, child of the run: `lameduck phase drain`. */
    phase: 'lameduck phase',
    /** One per task, child of its phase: `lameduck task pg-pool`. */
    task: 'lameduck task',
  },
  attributes: {
    /** Run: the trigger that started it (`signal`, `http`, `manual`, `fatal`, `dispose`). */
    trigger: 'lameduck.trigger',
    /** Run: the trigger's reason (`SIGTERM`, `preStop`, …). */
    reason: 'lameduck.reason',
    /** Run: the coordinator's grace period. */
    gracePeriodMs: 'lameduck.grace_period_ms',
    /** Run: epoch ms by which the process is gone. */
    deadline: 'lameduck.deadline',
    /** Run: the exit code as known when the flush starts (0: every critical task so far succeeded). */
    exitCode: 'lameduck.exit_code',
    /** Run: `ok` or `failed`, from the exit code. */
    outcome: 'lameduck.outcome',
    /**
     * Phase: its name. Not `lameduck.phase`: an attribute's name must not also be a namespace of others
     * (`lameduck.phase.budget_ms`, …), by OpenTelemetry's naming rules.
     */
    phase: 'lameduck.phase.name',
    /** Phase: its budget. */
    phaseBudgetMs: 'lameduck.phase.budget_ms',
    /** Phase: how many tasks it runs. */
    phaseTasks: 'lameduck.phase.tasks',
    /** Phase: its outcome (the worst of its tasks'). */
    phaseOutcome: 'lameduck.phase.outcome',
    /** Task: its name. */
    taskName: 'lameduck.task.name',
    /** Task: its phase. */
    taskPhase: 'lameduck.task.phase',
    /** Task: `ok`, `error`, `timeout` or `skipped`. */
    taskOutcome: 'lameduck.task.outcome',
    /** Task: whether a failure makes the exit code non-zero. */
    taskCritical: 'lameduck.task.critical',
    /** Task: its budget. */
    taskBudgetMs: 'lameduck.task.budget_ms',
    /** Task: how long it ran. */
    taskDurationMs: 'lameduck.task.duration_ms',
    /** Task: the code of its error, when it has one (`LAMEDUCK_ERR_…`). */
    errorCode: 'lameduck.error.code',
  },
  metrics: {
    /** Counter: shutdown runs, by `lameduck.trigger` and `lameduck.outcome`. */
    runs: 'lameduck.shutdown.runs',
    /** Histogram (s): the run's duration up to the flush, by `lameduck.trigger` and `lameduck.outcome`. */
    runDuration: 'lameduck.shutdown.duration',
    /** Histogram (s): each phase's duration, by `lameduck.phase.name` and `lameduck.phase.outcome`. */
    phaseDuration: 'lameduck.shutdown.phase.duration',
    /** Histogram (s): each task's duration, by `lameduck.task.name`, `lameduck.task.phase`, `lameduck.task.outcome`. */
    taskDuration: 'lameduck.shutdown.task.duration',
  },
} as const

/** Bucket boundaries of the duration histograms, in seconds: 5 ms to a minute (grace periods are rarely longer). */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
