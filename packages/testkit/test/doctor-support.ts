// What the lameduck-doctor tests share: the real bin, run as CI runs it, and the fixtures' markers.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { collected } from '../../../test/support/child.js'

export const doctorBin = fileURLToPath(new URL('../bin/lameduck-doctor.js', import.meta.url))
/** The folder of the doctor's fixtures; the tests run the bin there, so findings name `bad/<file>.yaml`. */
export const doctorFixtures = fileURLToPath(new URL('./fixtures/doctor/', import.meta.url))

export interface DoctorRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `lameduck-doctor args…` in `cwd` (the fixtures by default), with `input` on its stdin. */
export function doctor(args: string[], options: { input?: string; cwd?: string } = {}): Promise<DoctorRun> {
  const child = spawn(process.execPath, [doctorBin, ...args], {
    cwd: options.cwd ?? doctorFixtures,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const done = collected(child)
  child.stdin.end(options.input ?? '')
  return done
}

/**
 * What a bad fixture says of itself: the finding it holds (the line marked `# ← <code>`) and the doctor's
 * arguments (`# args: …`, else `--plan plan.json`).
 */
export function marker(file: string): { code: string; line: number; args: string[] } {
  const lines = readFileSync(new URL(file, `file://${doctorFixtures}`), 'utf8').split('\n')
  const marked = lines.flatMap((text, i) => {
    const match = /# ← (LAMEDUCK_DOCTOR_[A-Z0-9_]+)$/.exec(text)
    return match ? [{ code: match[1] as string, line: i + 1 }] : []
  })
  if (marked.length !== 1)
    throw new Error(`${file} must mark exactly one line with "# ← <code>"; it marks ${marked.length}`)
  const args = lines.map((text) => /^# args: (.*)$/.exec(text)?.[1]).find((a) => a !== undefined)
  return { ...(marked[0] as { code: string; line: number }), args: args ? args.split(' ') : ['--plan', 'plan.json'] }
}
