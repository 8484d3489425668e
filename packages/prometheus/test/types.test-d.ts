import { createShutdown, type LameduckErrorCode, type Registration } from '@lameduck/core'
import {
  type Instrumentation,
  instrument,
  metricsHandler,
  type PROMETHEUS_ERROR_CODES,
  type PROMETHEUS_WARNING_CODES,
  type PrometheusErrorCode,
  type PrometheusWarningCode,
  type PushFailedError,
  pushOnShutdown,
  type Req,
  type Res,
} from '@lameduck/prometheus'
import type { Registry } from 'prom-client'
import { describe, expectTypeOf, it } from 'vitest'

describe('public types of @lameduck/prometheus', () => {
  const shutdown = createShutdown({ exit: false, signals: [] })

  it('instrument returns the one handle shape: a Registration plus its registry', () => {
    const metrics = instrument(shutdown)
    expectTypeOf(metrics).toEqualTypeOf<Instrumentation>()
    expectTypeOf(metrics).toExtend<Registration>()
    expectTypeOf(metrics.registry).toEqualTypeOf<Registry>()
    expectTypeOf(metrics[Symbol.dispose]).toEqualTypeOf<() => void>()
    // @ts-expect-error caches is an array of caches
    instrument(shutdown, { caches: { name: 'c' } })
  })

  it('pushOnShutdown takes the shared task options and returns a Registration', () => {
    const push = pushOnShutdown(shutdown, {
      url: 'http://pushgateway:9091',
      job: 'j',
      phase: 'report',
      retryDelayMs: 50,
    })
    expectTypeOf(push).toEqualTypeOf<Registration>()
    // @ts-expect-error the job is required
    pushOnShutdown(shutdown, { url: 'http://pushgateway:9091' })
    // @ts-expect-error POST or PUT
    pushOnShutdown(shutdown, { url: 'http://pushgateway:9091', job: 'j', method: 'GET' })
    // @ts-expect-error unknown phase
    pushOnShutdown(shutdown, { url: 'http://pushgateway:9091', job: 'j', phase: 'later' })
  })

  it('metricsHandler is a (req, res) => boolean', () => {
    expectTypeOf(metricsHandler()).toEqualTypeOf<(req: Req, res: Res) => boolean>()
  })

  it('error and warning codes: closed catalogues; an unknown string is not a code', () => {
    expectTypeOf<(typeof PROMETHEUS_ERROR_CODES)[number]>().toEqualTypeOf<PrometheusErrorCode>()
    expectTypeOf<PrometheusErrorCode>().toEqualTypeOf<'LAMEDUCK_ERR_PUSH_FAILED'>()
    expectTypeOf<'LAMEDUCK_ERR_PUSH_FAILD'>().not.toExtend<PrometheusErrorCode>()
    expectTypeOf<'not a code'>().not.toExtend<PrometheusErrorCode>()
    expectTypeOf<PrometheusErrorCode>().toExtend<LameduckErrorCode>()
    expectTypeOf<(typeof PROMETHEUS_WARNING_CODES)[number]>().toEqualTypeOf<PrometheusWarningCode>()
    expectTypeOf<PrometheusWarningCode>().toBeNever()
    expectTypeOf<'LAMEDUCK_WARN_ANYTHING'>().not.toExtend<PrometheusWarningCode>()
    expectTypeOf<PushFailedError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_PUSH_FAILED'>()
  })
})
