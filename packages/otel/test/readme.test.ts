import { INSTRUMENT_SHUTDOWN_OPTIONS, OTEL_CONVENTIONS, OTEL_DEFAULTS } from '@lameduck/otel'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { literal, readmeTable, readmeTables } from '../../../test/support/adapter-contract.js'
import { block, firstBlock, project, removeProjects, type Service, serve } from '../../../test/support/readme.js'
import { type Receiver, startReceiver } from './receiver.js'

// Defaults live in OTEL_DEFAULTS and the names in OTEL_CONVENTIONS: this keeps the README's tables from
// drifting from either, and runs its snippet as written.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  instrumentShutdown: '## `instrumentShutdown(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options instrumentShutdown accepts, each with a type', () => {
    expect([...tables.instrumentShutdown.keys()].sort()).toEqual([...INSTRUMENT_SHUTDOWN_OPTIONS].sort())
    for (const [option, cells] of tables.instrumentShutdown) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states the defaults OTEL_DEFAULTS holds', () => {
    for (const key of ['name', 'phase', 'timeoutMs', 'critical', 'flush'] as const)
      expect(defaultOf('instrumentShutdown', key), key).toContain(literal(OTEL_DEFAULTS[key]))
    expect(defaultOf('instrumentShutdown', 'name')).toContain(literal(`${OTEL_DEFAULTS.name}-2`))
  })

  it("names no attribute like a namespace of others (OpenTelemetry's rule: `a.b` and `a.b.c` cannot both be)", () => {
    const names = [...Object.values(OTEL_CONVENTIONS.attributes), ...Object.values(OTEL_CONVENTIONS.metrics)]
    for (const name of names)
      expect(
        names.filter((other) => other.startsWith(`${name}.`)),
        name,
      ).toEqual([])
  })

  it('lists every span attribute and every metric, and no other', () => {
    const attributes = readmeTable(readme, '### Span attributes')
    expect([...attributes.keys()].sort()).toEqual(Object.values(OTEL_CONVENTIONS.attributes).sort())
    const metrics = readmeTable(readme, '### Metrics')
    expect([...metrics.keys()].sort()).toEqual(Object.values(OTEL_CONVENTIONS.metrics).sort())
  })
})

describe('the README snippet, as written', () => {
  const running: Service[] = []
  const receivers: Receiver[] = []
  afterEach(async () => {
    for (const service of running.splice(0)) service.kill()
    for (const receiver of receivers.splice(0)) await receiver.close()
  })
  afterAll(removeProjects)

  it('a NodeSDK service: a SIGTERM sends the whole trace of its shutdown, then the process exits 0', async () => {
    const receiver = await startReceiver()
    receivers.push(receiver)
    const dir = project(
      { 'server.mjs': firstBlock(readme, 'ts') },
      { packages: ['otel'], modules: { '@opentelemetry/sdk-node': 'otel', '@opentelemetry/api': 'otel' } },
    )
    const service = await serve(dir, {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
      },
    })
    running.push(service)
    const answer = await service.reach(async (port) => (await fetch(`http://127.0.0.1:${port}/`)).text())
    expect(answer, service.output).toBe('hello')
    service.kill('SIGTERM')
    expect(await service.exited, service.output).toBe(0)
    const { spans: SPANS } = OTEL_CONVENTIONS
    const names = receiver.spans().map((s) => s.name)
    expect(names, service.output).toContain(SPANS.run)
    for (const phase of ['readiness', 'drain', 'flush', 'release', 'close', 'report'])
      expect(names).toContain(`${SPANS.phase} ${phase}`)
    expect(names).toContain(`${SPANS.task} http-drain`)
    // Nothing else of the run was lost: one trace, the run's, holds every lameduck span.
    const run = receiver.spans().find((s) => s.name === SPANS.run)
    const ours = receiver.spans().filter((s) => s.name.startsWith('lameduck '))
    expect(new Set(ours.map((s) => s.traceId))).toEqual(new Set([run?.traceId]))
  }, 60_000)
})

// The advice for a preload that installs its own SIGTERM handler (auto-instrumentations-node/register's calls
// sdk.shutdown() at once): its block, as written, at the top of a service whose preload (NODE_OPTIONS
// --require) installs such a handler; and what the block warns against, for contrast.
describe("the README's advice on a preload's own SIGTERM handler", () => {
  const advice = block(readme, "The SDK's own signal handling: let lameduck do the shutting down", 'js')
  const preload = "process.on('SIGTERM', () => console.error('preload: sdk.shutdown() at SIGTERM'))\n"
  const service = (before: string, after: string) =>
    [
      "import { createServer } from 'node:http'",
      "import { createShutdown } from '@lameduck/core'",
      "import { drainHttpServer } from '@lameduck/http'",
      before,
      'const shutdown = createShutdown()',
      after,
      "shutdown.on('report', (report) => console.error('report: exit code ' + report.exitCode))",
      "const server = createServer((req, res) => res.end('hello'))",
      'drainHttpServer(shutdown, server)',
      'server.listen(Number(process.env.PORT))',
      '',
    ].join('\n')
  const running: Service[] = []
  afterEach(() => {
    for (const s of running.splice(0)) s.kill()
  })
  afterAll(removeProjects)

  async function sigterm(source: string) {
    const dir = project({ 'server.mjs': source, 'preload.cjs': preload })
    const started = await serve(dir, { env: { NODE_OPTIONS: `--require ${dir}/preload.cjs` } })
    running.push(started)
    expect(await started.reach(async (port) => (await fetch(`http://127.0.0.1:${port}/`)).text())).toBe('hello')
    started.kill('SIGTERM')
    return { code: await started.exited, output: started.output }
  }

  it('as written, before createShutdown(): the preload handler is off, lameduck drains and exits 0', async () => {
    expect(advice).toContain("process.off('SIGTERM', listener)")
    const { code, output } = await sigterm(service(advice, ''))
    expect(code, output).toBe(0)
    expect(output).toContain('report: exit code 0')
    expect(output).not.toContain('preload: sdk.shutdown()')
  }, 30_000)

  it('what it warns against: removeAllListeners after createShutdown() takes lameduck off too — killed, no drain', async () => {
    const { code, output } = await sigterm(service('', "process.removeAllListeners('SIGTERM')"))
    expect(code, output).toBeNull()
    expect(output).not.toContain('report:')
  }, 30_000)
})
