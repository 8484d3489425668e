import { InvalidOptionError, PHASES, type Shutdown, type ShutdownOptions } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkedTaskOptions,
  checkOptions,
  describeArgument,
  isShutdown,
  optionalObject,
  type ResolvedTaskOptions,
} from '@lameduck/core/adapter'
import { type DrainOptions, PROBE_OPTIONS, type ProbeOptions } from '@lameduck/http'
import { NESTJS_DEFAULTS } from './defaults.js'

/** The options of `LameduckModule.forRoot()` (and what `forRootAsync()`'s factory returns). */
export interface LameduckModuleOptions extends ProbeOptions {
  /**
   * The coordinator (`createShutdown()` of `@lameduck/core`), or the options to create one with when the
   * module is instantiated. Default: `createShutdown()` with its defaults.
   */
  shutdown?: Shutdown | ShutdownOptions
  /** Options of the drain of the application's server — those of `drainHttpServer` (`@lameduck/http`), same defaults. */
  drain?: DrainOptions
  /**
   * The task calling the providers' `beforeApplicationShutdown` hooks, or `false` to leave them inside
   * `app.close()`, in Nest's own order (after `onModuleDestroy`). Its phase must come before `close`'s. Defaults:
   * {@link NESTJS_DEFAULTS}`.beforeShutdown`.
   */
  beforeShutdown?: AdapterTaskOptions | false
  /** The task running `app.close()` after the drain. Defaults: {@link NESTJS_DEFAULTS}`.close`. */
  close?: AdapterTaskOptions
}

/** Every key the module's options have, for JavaScript callers' typos. */
export const MODULE_OPTIONS = ['shutdown', ...PROBE_OPTIONS, 'drain', 'beforeShutdown', 'close'] as const

/** The options, checked: everything but the probe options (checked with the coordinator) and the drain's (with the server). */
export interface Settings {
  where: string
  shutdown: Shutdown | ShutdownOptions | undefined
  probes: ProbeOptions
  drain: DrainOptions | undefined
  beforeShutdown: ResolvedTaskOptions | false
  close: ResolvedTaskOptions
}

export function settingsOf(where: string, options: unknown): Settings {
  optionalObject(`options of ${where}`, options)
  checkOptions(where, options as LameduckModuleOptions | undefined, MODULE_OPTIONS)
  const { shutdown, drain, beforeShutdown, close, ...probes } = (options ?? {}) as LameduckModuleOptions
  if (shutdown !== undefined && !isShutdown(shutdown) && (shutdown === null || typeof shutdown !== 'object'))
    throw new InvalidOptionError(
      `shutdown of ${where}`,
      `expected a coordinator (createShutdown()) or the options of createShutdown; got ${describeArgument(shutdown)}`,
    )
  optionalObject(`drain of ${where}`, drain)
  let before: ResolvedTaskOptions | false = false
  if (beforeShutdown !== false) {
    if (beforeShutdown !== undefined && (beforeShutdown === null || typeof beforeShutdown !== 'object'))
      throw new InvalidOptionError(
        `beforeShutdown of ${where}`,
        `expected the task's options ({ name?, phase?, timeoutMs?, critical? }) or false; got ${describeArgument(beforeShutdown)}`,
      )
    before = checkedTaskOptions(`beforeShutdown of ${where}`, beforeShutdown, NESTJS_DEFAULTS.beforeShutdown)
  }
  optionalObject(`close of ${where}`, close)
  const closeTask = checkedTaskOptions(`close of ${where}`, close, NESTJS_DEFAULTS.close)
  // Nest's close() calls the beforeApplicationShutdown hooks itself when their task has not started: a task
  // in a later phase would call them a second time, and one beside it would race the onModuleDestroy hooks.
  if (before !== false && PHASES.indexOf(before.phase) >= PHASES.indexOf(closeTask.phase))
    throw new InvalidOptionError(
      `phase of beforeShutdown of ${where}`,
      `must come before the phase of the close task (${JSON.stringify(closeTask.phase)}); got ${JSON.stringify(before.phase)}`,
    )
  return { where, shutdown, probes, drain, beforeShutdown: before, close: closeTask }
}
