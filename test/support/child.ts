import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'

export interface Exited {
  code: number | null
  signal: NodeJS.Signals | null
  /** Milliseconds from `markedAt` (by default the spawn) to the exit. */
  elapsedMs: number
}

export interface RunningChild {
  child: ChildProcess
  stdout: string[]
  stderr: string[]
  /** Resolves when a stdout line satisfies `match`. Rejects if the child exits first or after `timeoutMs`. */
  waitFor(match: string | RegExp, timeoutMs?: number): Promise<string>
  /** Restarts the elapsed-time clock (e.g. when the signal is sent). */
  mark(): void
  exited: Promise<Exited>
  /** Kills the child if it is still running; for afterEach. */
  dispose(): void
}

/** Spawns `command args…` with piped output collected line by line; never leaves it running after the test. */
export function spawnChild(
  command: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): RunningChild {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stdout: string[] = []
  const stderr: string[] = []
  const waiters = new Set<() => void>()
  let markedAt = performance.now()
  const collect = (stream: NodeJS.ReadableStream | null, into: string[]) => {
    let partial = ''
    stream?.setEncoding('utf8')
    stream?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      into.push(...lines)
      for (const waiter of waiters) waiter()
    })
    stream?.on('end', () => {
      if (partial) into.push(partial)
    })
  }
  collect(child.stdout, stdout)
  collect(child.stderr, stderr)

  let exitedAt = 0
  child.once('exit', () => {
    exitedAt = performance.now()
  })
  // 'close' comes after 'exit' and after the pipes are drained, so every line has been collected.
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    elapsedMs: exitedAt - markedAt,
  }))

  return {
    child,
    stdout,
    stderr,
    mark() {
      markedAt = performance.now()
    },
    waitFor(match, timeoutMs = 10_000) {
      const test = (line: string) => (typeof match === 'string' ? line === match : match.test(line))
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          const line = stdout.find(test)
          if (line !== undefined) {
            cleanup()
            resolve(line)
          }
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(
            new Error(`timed out waiting for ${match}; stdout: ${stdout.join('\n')}; stderr: ${stderr.join('\n')}`),
          )
        }, timeoutMs)
        const onExit = () => {
          cleanup()
          reject(new Error(`exited before ${match}; stdout: ${stdout.join('\n')}; stderr: ${stderr.join('\n')}`))
        }
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
          child.off('exit', onExit)
        }
        waiters.add(check)
        child.once('exit', onExit)
        check()
      })
    },
    exited,
    dispose() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

/** Parses the JSON lines a lameduck logger wrote to stderr, skipping anything else. */
export function jsonLines(lines: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const line of lines) {
    if (!line.startsWith('{')) continue
    try {
      out.push(JSON.parse(line))
    } catch {
      // Not one of ours.
    }
  }
  return out
}

/** What a child wrote and how it ended: resolves at 'close' (rejects if it could not be spawned). */
export function collected(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}
