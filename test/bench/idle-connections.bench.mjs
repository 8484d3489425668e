// 10,000 idle keep-alive connections: memory lameduck's tracking costs per connection, and the time to
// drain them all after SIGTERM.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('./fixtures/idle-server.mjs', import.meta.url))
const count = Number(process.env.BENCH_CONNECTIONS ?? 10_000)

async function start(track) {
  const child = spawn(process.execPath, ['--expose-gc', fixture], {
    env: { ...process.env, TRACK: track ? '1' : '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [chunk] = await once(child.stdout, 'data')
  return { child, port: Number(String(chunk).trim()) }
}

function open(port) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    socket.setEncoding('utf8')
    socket.once('error', reject)
    socket.once('data', () => resolve(socket))
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  })
}

async function openMany(port) {
  const sockets = []
  for (let i = 0; i < count; i += 250) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(250, count - i) }, () => open(port)))))
  }
  return sockets
}

async function memory(port) {
  const socket = connect(port, '127.0.0.1')
  socket.setEncoding('utf8')
  socket.write('GET /mem HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  let text = ''
  for await (const chunk of socket) text += chunk
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))
}

const results = {}
for (const track of [false, true]) {
  const server = await start(track)
  const before = await memory(server.port)
  const sockets = await openMany(server.port)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const after = await memory(server.port)
  let drainMs
  if (track) {
    const exited = once(server.child, 'exit')
    const sent = performance.now()
    server.child.kill('SIGTERM')
    await exited
    drainMs = performance.now() - sent
    const closedByServer = sockets.filter((s) => s.readableEnded || s.destroyed).length
    results.closed = closedByServer
  } else {
    server.child.kill('SIGKILL')
  }
  for (const socket of sockets) socket.destroy()
  results[track ? 'tracked' : 'untracked'] = {
    heapPerConnection: (after.heapUsed - before.heapUsed) / count,
    rssPerConnection: (after.rss - before.rss) / count,
    drainMs,
  }
}
const t = results.tracked
const u = results.untracked
console.log(`http: ${count} idle keep-alive connections`)
console.log(`  heap per connection, node:http alone       ${u.heapPerConnection.toFixed(0)} B`)
console.log(
  `  heap per connection, tracked by lameduck   ${t.heapPerConnection.toFixed(0)} B   (+${(t.heapPerConnection - u.heapPerConnection).toFixed(0)} B for tracking)`,
)
console.log(
  `  SIGTERM → exit with all ${count} drained      ${t.drainMs.toFixed(0)} ms (${results.closed} closed by the server)`,
)
