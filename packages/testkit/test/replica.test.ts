import { describe, expect, it } from 'vitest'
import { freePorts } from '../src/ports.js'
import { Replica } from '../src/replica.js'
import { newMarker } from './support.js'

describe('Replica.signal', () => {
  it('an unknown signal is an error with a code, not silently dropped; a process already gone is not', async () => {
    const [port] = (await freePorts(1)) as [number]
    const replica = new Replica(
      'A',
      port,
      port,
      process.execPath,
      ['-e', 'setInterval(() => {}, 1000)', newMarker()],
      {},
    )
    try {
      let thrown: unknown
      try {
        replica.signal('SIGFOO' as NodeJS.Signals)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toMatchObject({ code: 'LAMEDUCK_ERR_SIM_SIGNAL_FAILED', name: 'SimulatorError' })
      expect((thrown as Error).message).toMatch(/^could not send SIGFOO to replica A: /)
      expect(replica.running).toBe(true)

      replica.signal('SIGTERM')
      expect(await replica.exited).toMatchObject({ code: null, signal: 'SIGTERM' })
      // Gone: signalling it again is no error.
      expect(() => replica.signal('SIGTERM')).not.toThrow()
    } finally {
      replica.killGroup()
      await replica.exited
    }
  })
})
