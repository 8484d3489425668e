// A real OTLP/HTTP JSON receiver on loopback, for the tests: records the bodies POSTed to /v1/traces and
// /v1/metrics and answers as a collector does — or, by `mode`, never answers (a collector that hangs).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface OtlpAttribute {
  key: string
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number }
}

export interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes: OtlpAttribute[]
  events?: { name: string; attributes: OtlpAttribute[] }[]
  status?: { code?: number; message?: string }
}

export interface Receiver {
  url: string
  /** Every span received so far, in the order the batches came. */
  spans(): OtlpSpan[]
  /** The names of every metric received so far. */
  metricNames(): string[]
  /** The raw metric batches. */
  metrics: unknown[]
  /** Requests received (answered or not). */
  requests: number
  close(): Promise<void>
}

export async function startReceiver({ mode = 'answer' }: { mode?: 'answer' | 'hang' } = {}): Promise<Receiver> {
  const traces: { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] }[] = []
  const metrics: { resourceMetrics?: { scopeMetrics?: { metrics?: { name: string }[] }[] }[] }[] = []
  const receiver = {
    url: '',
    requests: 0,
    metrics: metrics as unknown[],
    spans: () =>
      traces
        .flatMap((t) => t.resourceSpans ?? [])
        .flatMap((r) => r.scopeSpans ?? [])
        .flatMap((s) => s.spans ?? []),
    metricNames: () =>
      metrics
        .flatMap((m) => m.resourceMetrics ?? [])
        .flatMap((r) => r.scopeMetrics ?? [])
        .flatMap((s) => s.metrics ?? [])
        .map((m) => m.name),
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
  const server: Server = createServer((req, res) => {
    receiver.requests++
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      if (mode === 'hang') return
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
      if (req.url === '/v1/traces') traces.push(body)
      else if (req.url === '/v1/metrics') metrics.push(body)
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return receiver
}

/** A span's attributes as a plain object (int values as numbers). */
export function attributesOf(span: { attributes: OtlpAttribute[] }): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const { key, value } of span.attributes) {
    const v = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue
    if (v !== undefined) out[key] = typeof v === 'string' && value.intValue !== undefined ? Number(v) : v
  }
  return out
}
