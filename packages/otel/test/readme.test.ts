import { INSTRUMENT_SHUTDOWN_OPTIONS, OTEL_CONVENTIONS, OTEL_DEFAULTS } from '@lameduck/otel'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { literal, readmeTable, readmeTables } from '../../../test/support/adapter-contract.js'
import { firstBlock, project, removeProjects, type Service, serve } from '../../../test/support/readme.js'
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
