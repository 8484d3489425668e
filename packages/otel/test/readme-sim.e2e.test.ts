import { OTEL_CONVENTIONS } from '@lameduck/otel'
import { afterAll, describe, expect, it } from 'vitest'
import { firstBlock, project, readReadme, removeProjects, sh, summaries } from '../../../test/support/readme.js'
import { startReceiver } from './receiver.js'

// The README's service through the simulator with the command the README gives, its exporter pointed at a
// real OTLP/HTTP JSON receiver on loopback: an end-to-end file (run one at a time, see vitest.config.ts).
const readme = readReadme('packages/otel/README.md')

describe('the README service under lameduck-sim', () => {
  afterAll(removeProjects)

  it('passes: 0 dropped, the terminated replica flushes the trace of its shutdown and exits 0', async () => {
    const receiver = await startReceiver()
    try {
      const dir = project(
        { 'server.mjs': firstBlock(readme, 'ts') },
        { packages: ['otel'], modules: { '@opentelemetry/sdk-node': 'otel', '@opentelemetry/api': 'otel' } },
      )
      const env = [
        `export OTEL_EXPORTER_OTLP_ENDPOINT=${receiver.url} OTEL_EXPORTER_OTLP_PROTOCOL=http/json`,
        'export OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none',
      ].join('\n')
      const { code, stdout, stderr } = await sh(`${env}\n${firstBlock(readme, 'sh')}`, dir)
      const log = `stdout:\n${stdout}\nstderr:\n${stderr}`
      expect(summaries(stdout), log).toEqual([0])
      expect(stdout, log).toMatch(/verdict\s+PASS/)
      expect(code, log).toBe(0)
      // The terminated replica's run span, with its six phases, received before it exited (the simulator
      // stops the other replica too once it is done: its trace may come as well).
      const runs = receiver.spans().filter((s) => s.name === OTEL_CONVENTIONS.spans.run)
      expect(runs.length, log).toBeGreaterThanOrEqual(1)
      for (const run of runs) expect(receiver.spans().filter((s) => s.parentSpanId === run.spanId).length, log).toBe(6)
    } finally {
      await receiver.close()
    }
  }, 60_000)
})
