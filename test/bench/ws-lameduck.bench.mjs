// 10,000 WebSocket connections lame-ducked: replica A (ws on node:http) holds them, replica B takes the
// reconnects. Each client reconnects to B the moment A closes its connection, with no backoff or jitter of its
// own — the worst case for a storm — so the reconnect rate B sees is A's doing alone. Three ways A goes:
// - ws alone, killed by SIGTERM: every client cut (1006) at once;
// - lameduck, spreadMs 0: every client told 1012 at once;
// - lameduck, spreadMs SPREAD_MS (5000): told 1012 evenly over the window.
// Reported: the time from SIGTERM until every client was closed, the close codes, the peak of reconnects
// B accepted in any 100 ms (and the ideal: n / window × 100 ms), and A's memory per connection with and
// without lameduck (heap and RSS after a full GC).
//
//   pnpm build && node test/bench/ws-lameduck.bench.mjs     (or: pnpm bench ws-lameduck)
//   BENCH_WS_CONNECTIONS=500 node test/bench/ws-lameduck.bench.mjs    (a quick smoke run)
//
// Each of the three processes holds one socket per connection: the file-descriptor limit must be above the
// count (this script re-runs itself under `ulimit -n` when it is not), and loopback needs an ephemeral port
// per connection and per replica (A on 127.0.0.1, B on 127.0.0.2).
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'

const count = Number(process.env.BENCH_WS_CONNECTIONS ?? 10_000)
const spreadMs = Number(process.env.SPREAD_MS ?? 5000)
const fixture = fileURLToPath(new URL('./fixtures/ws-server.mjs', import.meta.url))
const here = fileURLToPath(import.meta.url)

// File descriptors: the clients' sockets here, plus slack. Raised for this process and its children.
const needed = count + 2048
if (process.env.WS_BENCH_ULIMIT !== '1') {
  const soft = Number(spawnSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim())
  if (Number.isFinite(soft) && soft < needed) {
    if (spawnSync('bash', ['-c', `ulimit -n ${needed}`]).status !== 0) {
      console.error(`ulimit -n is ${soft} and cannot be raised to ${needed}: run with fewer connections`)
      process.exit(2)
    }
    const raised = spawnSync('bash', ['-c', `ulimit -n ${needed} && exec "${process.execPath}" "${here}"`], {
      stdio: 'inherit',
      env: { ...process.env, WS_BENCH_ULIMIT: '1' },
    })
    process.exit(raised.status ?? 1)
  }
}

async function start(mode, host, extra = {}) {
  const child = spawn(process.execPath, ['--expose-gc', fixture], {
    env: { ...process.env, MODE: mode, HOST: host, SPREAD_MS: String(extra.spreadMs ?? 0), TIMEOUT_MS: '30000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk
  })
  const [chunk] = await once(child.stdout, 'data')
  return { child, host, port: Number(String(chunk).trim()), stderr: () => stderr }
}

function memory({ host, port }) {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/mem', agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (c) => {
        text += c
      })
      res.on('end', () => resolve(JSON.parse(text)))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Opens `count` clients on A; each one reconnects to B once closed, and records when. */
async function openClients(a, b) {
  const closes = []
  const reopened = []
  const codes = {}
  let failedReconnects = 0
  const clients = []
  const open = (replica) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${replica.host}:${replica.port}/`)
      ws.once('open', () => resolve(ws))
      ws.once('error', reject)
    })
  for (let i = 0; i < count; i += 250) {
    const batch = await Promise.all(Array.from({ length: Math.min(250, count - i) }, () => open(a)))
    for (const ws of batch) {
      ws.on('error', () => {})
      ws.once('close', (code) => {
        closes.push(performance.now())
        codes[code] = (codes[code] ?? 0) + 1
        open(b).then(
          (again) => {
            reopened.push(performance.now())
            clients.push(again)
          },
          () => failedReconnects++,
        )
      })
      clients.push(ws)
    }
  }
  return { closes, reopened, codes, clients, failed: () => failedReconnects }
}

function peakPer100ms(times) {
  const buckets = new Map()
  for (const t of times) {
    const bucket = Math.floor(t / 100)
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1)
  }
  return Math.max(0, ...buckets.values())
}

async function until(check, timeoutMs) {
  const deadline = performance.now() + timeoutMs
  while (!check() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  return check()
}

async function run(label, mode, options = {}) {
  const b = await start('plain', '127.0.0.2')
  const a = await start(mode, '127.0.0.1', options)
  const before = await memory(a)
  const clients = await openClients(a, b)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const after = await memory(a)
  const exited = once(a.child, 'exit')
  const sent = performance.now()
  a.child.kill('SIGTERM')
  await until(() => clients.closes.length === count, 60_000)
  const allClosedMs = Math.max(...clients.closes) - sent
  await until(() => clients.reopened.length + clients.failed() === count, 10_000)
  await exited
  const exitMs = performance.now() - sent
  const statsLine = a
    .stderr()
    .split('\n')
    .find((line) => line.startsWith('{"stats"'))
  for (const ws of clients.clients) ws.terminate()
  b.child.kill('SIGKILL')
  return {
    label,
    allClosedMs,
    exitMs,
    codes: clients.codes,
    peak: peakPer100ms(clients.reopened),
    closePeak: peakPer100ms(clients.closes),
    failedReconnects: clients.failed(),
    heapPerConnection: (after.heapUsed - before.heapUsed) / count,
    rssPerConnection: (after.rss - before.rss) / count,
    stats: statsLine ? JSON.parse(statsLine).stats : undefined,
  }
}

const results = [
  await run('ws alone, killed by SIGTERM', 'plain'),
  await run('lameduck, spreadMs 0', 'lameduck', { spreadMs: 0 }),
  await run(`lameduck, spreadMs ${spreadMs}`, 'lameduck', { spreadMs }),
]

const [plain, , spread] = results
console.log(`ws: ${count} WebSocket connections lame-ducked (A closes, B takes the reconnects)`)
for (const r of results) {
  const codes = Object.entries(r.codes)
    .map(([code, n]) => `${code}×${n}`)
    .join(' ')
  console.log(`  ${r.label}`)
  console.log(
    `    all closed ${r.allClosedMs.toFixed(0)} ms after SIGTERM, A exited at ${r.exitMs.toFixed(0)} ms; codes ${codes}`,
  )
  console.log(
    `    reconnects accepted by B: peak ${r.peak} per 100 ms (closes: peak ${r.closePeak} per 100 ms); failed reconnects ${r.failedReconnects}`,
  )
  if (r.stats)
    console.log(
      `    closeWebSockets: ${r.stats.closed} closed, ${r.stats.terminated} terminated, window ${r.stats.windowMs} ms, ${r.stats.durationMs} ms`,
    )
}
console.log(`  ideal peak over ${spreadMs} ms: ${Math.ceil((count * 100) / spreadMs)} per 100 ms`)
console.log(
  `  heap per connection, ws alone               ${plain.heapPerConnection.toFixed(0)} B   (RSS ${plain.rssPerConnection.toFixed(0)} B)`,
)
console.log(
  `  heap per connection, with lameduck          ${spread.heapPerConnection.toFixed(0)} B   (+${(spread.heapPerConnection - plain.heapPerConnection).toFixed(0)} B; RSS ${spread.rssPerConnection.toFixed(0)} B)`,
)
