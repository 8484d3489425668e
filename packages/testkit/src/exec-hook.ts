import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { SIM_LIMITS, SIM_TIMINGS } from './defaults.js'

export interface ExecHookOptions {
  /** The hook's `command`, as argv: run as is, no shell. */
  command: readonly string[]
  /** The container's environment: replica A's, every variable of it. */
  env: Record<string, string | undefined>
  /** The container's working directory: replica A's. */
  cwd: string
}

export interface ExecHookResult {
  command: readonly string[]
  /** The hook's exit code; `null` when it could not run, was killed by a signal or was still running. */
  exitCode: number | null
  /** The signal that ended it, if one did. */
  exitSignal: NodeJS.Signals | null
  /** ms from its start to its end, or to when the kubelet stopped waiting. */
  durationMs: number
  /**
   * Why it did not run to an exit: `ENOENT` (no such command), another spawn error's code, or `timeout`
   * (still running when the grace period ended). `null` when it exited, whatever its code.
   */
  error: string | null
  /**
   * Replica A exited while the hook still ran, and the hook died with it (SIGKILL), as every process of a
   * container does when its main process ends: the runtime reports exit status 137, and the kubelet a
   * `FailedPreStopHook` event, however well the shutdown went.
   */
  diedWithContainer: boolean
  /** Its last lines of stdout and of stderr (the kubelet logs them when the hook fails). */
  stdout: string[]
  stderr: string[]
}

/** An exec hook, running: wait for it within a limit; kill it with the container. */
export interface ExecHook {
  readonly child: ChildProcess
  /** Its outcome once it ends, or `timeout` when `limitMs` passes first (it is left running, as by the kubelet). */
  within(limitMs: number): Promise<ExecHookResult>
  /** Kills its whole process group, as the container's end kills everything in it. Safe to call again. */
  kill(): void
  /** Kills it as its container ends: the result says it died with the container if it was still running. */
  containerExited(): void
}

/**
 * Starts a preStop exec hook as the kubelet has the runtime start it (CRI `ExecSync`, no timeout): in the
 * container, so with the container's environment and working directory, straight from argv with no shell.
 * It gets a process group of its own, so that it and whatever it starts die with the replica.
 */
export function startExecHook(options: ExecHookOptions): ExecHook {
  const [file, ...args] = options.command as [string, ...string[]]
  const started = performance.now()
  const child = spawn(file, args, {
    env: options.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    shell: false,
  })
  const stdout = tail(child.stdout)
  const stderr = tail(child.stderr)
  let running = true
  let diedWithContainer = false
  const outcome = new Promise<Omit<ExecHookResult, 'durationMs' | 'command' | 'diedWithContainer'>>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      running = false
      resolve({ exitCode: null, exitSignal: null, error: error.code ?? error.message, stdout, stderr })
    })
    const exited = (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({ exitCode: code, exitSignal: signal, error: null, stdout, stderr })
    child.once('exit', () => {
      running = false
    })
    // 'close' once the output is all in; but a process the hook left behind may hold its pipes open.
    child.once('close', exited)
    child.once('exit', (code, signal) => setTimeout(() => exited(code, signal), SIM_TIMINGS.hookOutputWaitMs).unref())
  })
  let killed = false
  return {
    child,
    async within(limitMs) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), limitMs)
      })
      const result = await Promise.race([outcome, timeout])
      clearTimeout(timer)
      const durationMs = Math.round(performance.now() - started)
      const command = [...options.command]
      if (result === null)
        return {
          command,
          exitCode: null,
          exitSignal: null,
          durationMs,
          error: 'timeout',
          diedWithContainer: false,
          stdout: [...stdout],
          stderr: [...stderr],
        }
      return {
        command,
        durationMs,
        ...result,
        diedWithContainer,
        stdout: [...result.stdout],
        stderr: [...result.stderr],
      }
    },
    containerExited() {
      // Both may have exited in the same turn of the event loop: a hook whose exit is not reported yet but
      // which is gone (or a zombie) ended on its own, before the container did.
      if (running && !killed && child.pid !== undefined && !ended(child.pid)) diedWithContainer = true
      // What it started goes too, whether it is still running or not.
      this.kill()
    },
    kill() {
      if (killed || child.pid === undefined) return
      killed = true
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // Gone already, with everything it started.
      }
    },
  }
}

/** Whether process `pid` has exited: gone, or a zombie not reaped yet (Linux; elsewhere: whether it is gone). */
function ended(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return true
  }
  try {
    return /^\d+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** The last lines of a stream, kept as they come. */
function tail(stream: NodeJS.ReadableStream | null): string[] {
  const lines: string[] = []
  let partial = ''
  const keep = (line: string) => {
    lines.push(line)
    if (lines.length > SIM_LIMITS.hookOutputLines) lines.shift()
  }
  stream?.setEncoding('utf8')
  stream?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) keep(line)
  })
  stream?.on('end', () => {
    if (partial) keep(partial)
    partial = ''
  })
  return lines
}
