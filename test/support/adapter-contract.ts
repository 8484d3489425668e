import { readFileSync } from 'node:fs'
// The contract every adapter of the kit (`@lameduck/core/adapter`) keeps, as one table-driven suite that
// each package runs on its own adapter functions: the same mistake gives the same code, registering returns
// the same handle, and a second registration behaves the same way. Import with a relative path:
// `import { describeAdapterContract } from '../../../test/support/adapter-contract.js'`.
import { LameduckError, type Registration, type Shutdown } from '@lameduck/core'
import type { AdapterTaskDefaults } from '@lameduck/core/adapter'
import { HTTP_DEFAULTS } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { taskReport, testShutdown } from './shutdown.js'

/** One adapter function, as the contract sees it. */
export interface AdapterCase {
  /** The function, as its messages name it: `'closePool'`. */
  where: string
  /** Its task's defaults (from the package's defaults object). */
  defaults: AdapterTaskDefaults
  /** A fresh resource of the kind it takes charge of: a real client or pool, which need never connect. */
  resource(): object
  /** Registers `resource` on `shutdown`. */
  register(shutdown: Shutdown, resource: object, options?: Record<string, unknown>): Registration
  /** The handle's members besides the Registration's `name` and `remove`. */
  members: readonly string[]
  /** Its duration options besides `timeoutMs`; `positive` when 0 is refused too. */
  durations?: Record<string, { positive?: boolean }>
  /**
   * The same function from the package's CommonJS build (`createRequire(import.meta.url)('@lameduck/x')`,
   * built first): a resource it registered must count as registered for the ESM copy too.
   */
  registerCommonJs?(shutdown: Shutdown, resource: object): Registration
  /** Frees a resource once the test is done with it (the coordinator's run has ended). */
  dispose?(resource: object): unknown
}

/** What the kit's validators refuse as a duration, whatever the option. */
const WRONG_DURATIONS: readonly unknown[] = [null, -1, Number.NaN, '10', 2 ** 31, Number.POSITIVE_INFINITY]

interface Thrown {
  code?: unknown
  message?: unknown
}

function thrownBy(call: () => unknown): Thrown {
  try {
    call()
  } catch (error) {
    return error as Thrown
  }
  throw new Error('accepted')
}

/** The contract, for every adapter function of `pkg`. */
export function describeAdapterContract(pkg: string, cases: readonly AdapterCase[]): void {
  describe(`${pkg}: the adapter contract`, () => {
    describe.each(cases.map((c) => [c.where, c] as const))('%s', (where, adapter) => {
      const fresh = () => {
        const resource = adapter.resource()
        made.push(resource)
        return resource
      }
      const made: object[] = []
      const finish = async (...shutdowns: Shutdown[]) => {
        for (const shutdown of shutdowns) await shutdown.shutdown()
        for (const resource of made.splice(0)) await adapter.dispose?.(resource)
      }

      it('refuses every invalid duration with LAMEDUCK_ERR_INVALID_DURATION, naming the option', async () => {
        const shutdown = testShutdown()
        const resource = fresh()
        const options: Record<string, { positive?: boolean }> = { timeoutMs: {}, ...adapter.durations }
        for (const [option, { positive = false }] of Object.entries(options))
          for (const wrong of positive ? [...WRONG_DURATIONS, 0] : WRONG_DURATIONS) {
            const error = thrownBy(() => adapter.register(shutdown, resource, { [option]: wrong }))
            expect(error, `${option}: ${String(wrong)}`).toMatchObject({
              code: 'LAMEDUCK_ERR_INVALID_DURATION',
              message: expect.stringContaining(`${option} of ${where}`),
            })
          }
        await finish(shutdown)
      })

      it('checks the other task options and the coordinator argument with the same codes', async () => {
        const shutdown = testShutdown()
        const resource = fresh()
        const refused = (options: unknown) => thrownBy(() => adapter.register(shutdown, resource, options as never))
        expect(refused({ timeout: 100 })).toMatchObject({
          code: 'LAMEDUCK_ERR_UNKNOWN_OPTION',
          message: expect.stringContaining(`${where}: unknown option "timeout" — did you mean "timeoutMs"?`),
        })
        expect(refused(null)).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION' })
        expect(refused({ phase: 'cleanup' })).toMatchObject({
          code: 'LAMEDUCK_ERR_UNKNOWN_PHASE',
          message: expect.stringContaining(`phase of ${where}`),
        })
        expect(refused({ critical: 'yes' })).toMatchObject({
          code: 'LAMEDUCK_ERR_INVALID_OPTION',
          message: expect.stringContaining(`critical of ${where}`),
        })
        for (const name of [null, '', '  ', 7])
          expect(refused({ name })).toMatchObject({
            code: 'LAMEDUCK_ERR_INVALID_OPTION',
            message: expect.stringContaining(`name of ${where}`),
          })
        for (const notCoordinator of [undefined, {}, resource])
          expect(thrownBy(() => adapter.register(notCoordinator as never, resource))).toMatchObject({
            code: 'LAMEDUCK_ERR_INVALID_OPTION',
            message: expect.stringContaining(`shutdown argument of ${where}`),
          })
        expect(thrownBy(() => adapter.register(shutdown, {}))).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION' })
        await finish(shutdown)
      })

      it('returns the one handle shape: name, remove() (idempotent), [Symbol.dispose] and its own members', async () => {
        const shutdown = testShutdown()
        const handle = adapter.register(shutdown, fresh())
        expect(Object.keys(handle).sort()).toEqual(['name', 'remove', ...adapter.members].sort())
        expect(handle.name).toBe(adapter.defaults.name)
        expect(typeof handle.remove).toBe('function')
        expect(typeof handle[Symbol.dispose]).toBe('function')
        handle.remove()
        handle.remove()
        {
          using scoped = adapter.register(shutdown, fresh(), { name: 'scoped' })
          expect(scoped.name).toBe('scoped')
        }
        const kept = adapter.register(shutdown, fresh(), { phase: 'report', critical: false })
        // The removed registrations free their names: the next default one takes the first name again.
        expect(kept.name).toBe(adapter.defaults.name)
        const report = await shutdown.shutdown()
        expect(report.phases.flatMap((p) => p.tasks.map((t) => t.name))).toEqual([adapter.defaults.name])
        expect(taskReport(report, adapter.defaults.name).phase).toBe('report')
        await finish()
      })

      it('registers the same resource once per coordinator; other resources get the default name numbered', async () => {
        const shutdown = testShutdown()
        const other = testShutdown()
        const resource = fresh()
        const first = adapter.register(shutdown, resource)
        expect(first.name).toBe(adapter.defaults.name)
        expect(thrownBy(() => adapter.register(shutdown, resource, { name: 'another-name' }))).toMatchObject({
          code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION',
          message: expect.stringMatching(new RegExp(`^${where}: .* \\(as "${adapter.defaults.name}"\\)`)),
        })
        // Another coordinator may take the same resource.
        expect(adapter.register(other, resource).name).toBe(adapter.defaults.name)
        // Another resource: the default name is numbered, a chosen name that is taken is refused.
        expect(adapter.register(shutdown, fresh()).name).toBe(`${adapter.defaults.name}-2`)
        expect(thrownBy(() => adapter.register(shutdown, fresh(), { name: adapter.defaults.name }))).toMatchObject({
          code: 'LAMEDUCK_ERR_DUPLICATE_TASK',
        })
        // Once the first registration is removed, the resource can be registered again.
        first.remove()
        expect(adapter.register(shutdown, resource).name).toBe(adapter.defaults.name)
        const report = await shutdown.shutdown()
        expect(taskReport(report, adapter.defaults.name).phase).toBe(adapter.defaults.phase)
        expect(taskReport(report, `${adapter.defaults.name}-2`).phase).toBe(adapter.defaults.phase)
        await finish(other)
      })

      it.skipIf(adapter.registerCommonJs === undefined)(
        'a resource registered through the CommonJS build is registered for the ESM one too',
        async () => {
          const shutdown = testShutdown()
          const resource = fresh()
          const first = adapter.registerCommonJs?.(shutdown, resource)
          expect(first?.name).toBe(adapter.defaults.name)
          expect(thrownBy(() => adapter.register(shutdown, resource))).toMatchObject({
            code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION',
          })
          first?.remove()
          expect(adapter.register(shutdown, resource).name).toBe(adapter.defaults.name)
          await finish(shutdown)
        },
      )
    })
  })
}

/**
 * The rows of the first Markdown table after the heading that starts with `heading` (`'## \`closePool('`),
 * by their first cell without its backticks: `rows.get('timeoutMs')` is the cells of that row. Throws when
 * there is no such heading or table, so that a README test fails instead of checking nothing.
 */
export function readmeTable(readme: string, heading: string): Map<string, string[]> {
  const lines = readme.split('\n')
  const start = lines.findIndex((line) => line.startsWith(heading))
  if (start === -1) throw new Error(`the README has no heading starting with ${heading}`)
  const after = lines.slice(start + 1)
  const end = after.findIndex((line) => line.startsWith('#'))
  const section = end === -1 ? after : after.slice(0, end)
  const first = section.findIndex((line) => line.startsWith('|'))
  if (first === -1) throw new Error(`the README has no table under ${heading}`)
  const table = section.slice(first)
  const length = table.findIndex((line) => !line.startsWith('|'))
  const rows = new Map<string, string[]>()
  // The header row and the separator row go first.
  for (const line of table.slice(2, length === -1 ? undefined : length)) {
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim())
    rows.set((cells[0] ?? '').replace(/^`|`$/g, ''), cells)
  }
  return rows
}

/**
 * `target` as a library version without the private members `hidden` would look to the code reading them:
 * those read as `undefined` (and `in` says they are not there); everything else is the real object's, its
 * methods bound to it, so the real thing still does the work. For testing the fallback of an adapter's
 * internals file.
 */
export function hiding<T extends object>(target: T, ...hidden: string[]): T {
  return new Proxy(target, {
    get(object, key) {
      if (typeof key === 'string' && hidden.includes(key)) return undefined
      const value: unknown = Reflect.get(object, key, object)
      return typeof value === 'function' ? value.bind(object) : value
    },
    has(object, key) {
      return !(typeof key === 'string' && hidden.includes(key)) && Reflect.has(object, key)
    },
  })
}

/**
 * The option tables of a package's README, by the heading each sits under, and a lookup of an option's
 * default cell (the third column) that fails the test when the row is missing.
 */
export function readmeTables<K extends string>(readmeUrl: URL, headings: Record<K, string>) {
  const readme = readFileSync(readmeUrl, 'utf8')
  const tables = Object.fromEntries(
    Object.entries<string>(headings).map(([table, heading]) => [table, readmeTable(readme, heading)]),
  ) as Record<K, Map<string, string[]>>
  const defaultOf = (table: K, option: string): string => {
    const cells = tables[table].get(option)
    if (!cells) throw new Error(`the README's ${table} table has no row for ${option}`)
    return cells[2] ?? ''
  }
  return { readme, tables, defaultOf }
}

/** A default as a README table cell writes it: `'name'`, `5000`, `true`. */
export const literal = (value: string | number | boolean) => `\`${typeof value === 'string' ? `'${value}'` : value}\``

/** A task's defaults as a README table cell writes them: `'name'`, `'phase'`, `timeoutMs`, `critical`. */
export const taskCell = (task: { name: string; phase: string; timeoutMs: number; critical: boolean }) =>
  [task.name, task.phase, task.timeoutMs, task.critical].map(literal).join(', ')

/**
 * The rows a framework integration's options table (express, fastify, nestjs) has for the probes' options,
 * checked against HTTP_DEFAULTS.probes: the probe paths, the token's variable and length, `insecure`.
 */
export function expectProbeDefaults(table: Map<string, string[]>): void {
  const { probes } = HTTP_DEFAULTS
  const defaultOf = (option: string): string => {
    const cells = table.get(option)
    if (!cells) throw new Error(`the README's options table has no row for ${option}`)
    return cells[2] ?? ''
  }
  for (const path of Object.values(probes.paths)) expect(defaultOf('paths')).toContain(`\`${path}\``)
  expect(defaultOf('token')).toContain(`\`${probes.tokenEnv}\``)
  expect(defaultOf('insecure')).toContain(`\`${probes.insecure}\``)
  expect(table.get('token')?.[3]).toContain(`at least ${probes.minTokenLength} characters`)
}

/** A duration as a README's code writes it: `5_000`. */
export const msLiteral = (ms: number) => String(ms).replace(/\B(?=(\d{3})+$)/g, '_')

/** The codes a wrong argument or option gets, whatever the adapter. */
export type OptionErrorCode =
  | 'LAMEDUCK_ERR_UNKNOWN_OPTION'
  | 'LAMEDUCK_ERR_INVALID_OPTION'
  | 'LAMEDUCK_ERR_INVALID_DURATION'

/** One row of a table of refused calls: a title, the call, the code and the message it must give. */
export type OptionCase = [title: string, call: (shutdown: Shutdown) => unknown, code: OptionErrorCode, message: RegExp]

/** Asserts that `call` throws or rejects with a lameduck error of `code` whose message matches. */
export async function expectRefused(call: () => unknown, code: OptionErrorCode, message: RegExp): Promise<void> {
  let thrown: unknown
  try {
    await call()
  } catch (error) {
    thrown = error
  }
  expect(thrown, 'accepted').toBeInstanceOf(LameduckError)
  expect((thrown as LameduckError).code, (thrown as Error).message).toBe(code)
  expect((thrown as Error).message).toMatch(message)
}
