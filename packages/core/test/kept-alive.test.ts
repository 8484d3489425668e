import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { describeHandle, keptAlive } from '../src/alive.js'

const fixture = fileURLToPath(new URL('./fixtures/kept-alive.mjs', import.meta.url))

/** Runs the fixture, sends SIGTERM once it is ready, and collects its JSON log lines until `until` matches. */
async function run(mode: string, until: (line: Record<string, unknown>) => boolean) {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, MODE: mode },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const closed = once(child, 'close')
  const lines: Record<string, unknown>[] = []
  let port = 0
  let buffer = ''
  const done = new Promise<void>((resolve) => {
    // The ready line comes on stdout, lameduck's log (JSON lines) on stderr.
    const read = (chunk: Buffer) => {
      buffer += chunk.toString()
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const text = buffer.slice(0, i)
        buffer = buffer.slice(i + 1)
        const ready = /^ready (\d+)$/.exec(text)
        if (ready) {
          port = Number(ready[1])
          child.kill('SIGTERM')
          continue
        }
        try {
          const line = JSON.parse(text) as Record<string, unknown>
          lines.push(line)
          if (until(line)) resolve()
        } catch {
          // not a log line
        }
      }
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    child.on('exit', () => resolve())
  })
  const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await done
  clearTimeout(timeout)
  const exited = child.exitCode !== null || child.signalCode !== null
  if (!exited) child.kill('SIGKILL')
  await closed
  return { lines, port, exited, exitCode: child.exitCode }
}

describe('what kept the process alive', () => {
  it('names listening servers, sockets and child processes, and leaves out unref’d ones and stdio', async () => {
    const server = createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as { port: number }
    const hidden = createServer().listen(0, '127.0.0.1')
    await once(hidden, 'listening')
    hidden.unref()
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    const child = spawn('sleep', ['30'], { stdio: 'ignore' })
    try {
      const alive = keptAlive()
      expect(alive.handles).toContain(`Server listening on 127.0.0.1:${port}`)
      expect(alive.handles).toContain(`socket 127.0.0.1:${socket.localPort} → 127.0.0.1:${port}`)
      expect(alive.handles).toContain(`child process ${child.pid} (sleep 30)`)
      expect(alive.handles.join('\n')).not.toContain(String((hidden.address() as { port: number }).port))
      expect(alive.resources.TCPServerWrap).toBeGreaterThanOrEqual(1)
      expect(alive.resources.ProcessWrap).toBeGreaterThanOrEqual(1)
      expect(describeHandle(null as never)).toBeUndefined()
    } finally {
      child.kill()
      socket.destroy()
      server.close()
      hidden.close()
    }
  })

  it('with exit: false, the report lists it and the log says so when the process is still alive after the run', async () => {
    const { lines, port, exited } = await run('exit-false', (line) => line.event === 'process.alive')
    expect(exited).toBe(false)
    const report = lines.find((l) => l.event === 'report')?.report as {
      keptAlive?: { handles: string[]; resources: Record<string, number> }
    }
    expect(report.keptAlive?.handles).toContain(`Server listening on 127.0.0.1:${port}`)
    expect(report.keptAlive?.resources.Timeout).toBeGreaterThanOrEqual(1)
    const alive = lines.find((l) => l.event === 'process.alive') as { msg?: string; keptAlive: { handles: string[] } }
    expect(alive.keptAlive.handles).toContain(`Server listening on 127.0.0.1:${port}`)
    expect(JSON.stringify(alive)).toContain('Timeout')
  })

  it('with the exit held, the report lists it and the watchdog names it when it exits', async () => {
    const { lines, port, exited, exitCode } = await run('held', () => false)
    expect(exited).toBe(true)
    expect(exitCode).toBe(0)
    const report = lines.find((l) => l.event === 'report')?.report as { keptAlive?: { handles: string[] } }
    expect(report.keptAlive?.handles).toContain(`Server listening on 127.0.0.1:${port}`)
    const watchdog = lines.find((l) => l.event === 'watchdog') as { keptAlive: { handles: string[] } }
    expect(watchdog.keptAlive.handles).toContain(`Server listening on 127.0.0.1:${port}`)
  })

  it('when lameduck exits the process itself, the report has no keptAlive', async () => {
    const { lines, exited, exitCode } = await run('plain', () => false)
    expect(exited).toBe(true)
    expect(exitCode).toBe(0)
    const report = lines.find((l) => l.event === 'report')?.report as Record<string, unknown>
    expect(report).toBeDefined()
    expect(report.keptAlive).toBeUndefined()
  })
})
