// Time from SIGTERM to exit with 50 no-op tasks over every phase, against a bare process.exit baseline,
// alternating rounds in one run so that machine noise hits both alike.
import { fileURLToPath } from 'node:url'
import { fmt, median, timeSignalToExit } from './lib.mjs'

const rounds = Number(process.env.BENCH_ROUNDS ?? 21)
const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
const baseline = []
const lameduck = []
for (let i = 0; i < rounds; i++) {
  baseline.push((await timeSignalToExit(fixture('bare-exit.mjs'))).ms)
  const run = await timeSignalToExit(fixture('noop-tasks.mjs'))
  if (run.code !== 0) throw new Error(`lameduck fixture exited ${run.code}`)
  lameduck.push(run.ms)
}
const b = median(baseline)
const l = median(lameduck)
console.log(`core: SIGTERM → exit, 50 no-op tasks over 6 phases (${rounds} rounds, medians)`)
console.log(`  bare process.exit   ${fmt(b)}`)
console.log(`  lameduck            ${fmt(l)}   (+${fmt(l - b)}, ratio ${(l / b).toFixed(2)})`)
