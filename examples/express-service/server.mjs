// A small real service wired with lameduck end to end. Run it under the simulator with `pnpm demo`.
import { createServer } from 'node:http'
import { connect } from 'node:net'
import { hostname } from 'node:os'
import { createWriteBehind } from '@lameduck/cache'
import { createShutdown } from '@lameduck/core'
import { lameduck } from '@lameduck/express'
import { drainHttpServer, listenAdmin } from '@lameduck/http'
import { closePool, IDENTIFIER, pgSink } from '@lameduck/pg'
import { instrument, metricsHandler } from '@lameduck/prometheus'
import { closeRedis, createLocks } from '@lameduck/redis'
import express from 'express'
import { Redis } from 'ioredis'
import pg from 'pg'
import { config } from './config.mjs'

const shutdown = createShutdown({ drainDelayMs: config.drainDelayMs, safetyMarginMs: config.safetyMarginMs })

// Stores: Redis and Postgres when they answer, otherwise an in-process stand-in (and we say so).
const reachable = (url) =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url)
    const socket = connect({ host: hostname, port: Number(port) })
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
const external =
  config.store !== 'memory' && (await reachable(config.redisUrl)) && (await reachable(config.databaseUrl))

// Unique per replica: the pod name in Kubernetes (every pod listens on the same port), the port under the
// simulator (both replicas run on one host).
const replica = `${hostname()}:${config.port}`
let sink
let locks
if (external) {
  if (!IDENTIFIER.test(config.table)) throw new Error(`PAGE_VIEWS_TABLE must be an SQL identifier: ${config.table}`)
  const redis = new Redis(config.redisUrl)
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 4 })
  await pool
    .query(`CREATE TABLE IF NOT EXISTS "${config.table}" (path text PRIMARY KEY, views text NOT NULL)`)
    .catch((error) => {
      if (error.code !== '23505' && error.code !== '42P07') throw error // a replica created it first
    })
  sink = pgSink(pool, { table: config.table, keyColumn: 'path', valueColumn: 'views' })
  locks = createLocks(shutdown, redis, { keyPrefix: `${config.keyPrefix}lock:`, timeoutMs: config.budgets.release })
  // A lock this replica holds while it runs (e.g. its share of a job queue): released at shutdown. Its fence
  // counter stays in Redis (see the README: what is kept and why).
  await locks.acquire(`worker-${replica}`, { ttlMs: 30_000, autoExtend: true })
  closeRedis(shutdown, redis, { timeoutMs: config.budgets.close })
  closePool(shutdown, pool, { timeoutMs: config.budgets.close })
  console.log(`stores: Redis and PostgreSQL (keys under ${config.keyPrefix}, table ${config.table})`)
} else {
  const memory = new Map()
  sink = {
    write: async (batch) => {
      for (const { key, value } of batch) memory.set(key, value)
    },
  }
  console.log(
    config.store === 'memory'
      ? 'stores: in-process (STORE=memory)'
      : 'stores: Redis or PostgreSQL not reachable, using an in-process store',
  )
}

const views = createWriteBehind(shutdown, { name: 'page-views', sink, timeoutMs: config.budgets.flush })
const app = express()
app.use(lameduck(shutdown, { paths: config.paths })) // /healthz, /readyz, /shutdown (LAMEDUCK_SHUTDOWN_TOKEN)
app.get('/', (_req, res) => {
  // Counted per replica: two replicas' caches writing one shared row would overwrite each other's counts.
  views.set(`${replica} /`, String(Number(views.get(`${replica} /`) ?? 0) + 1))
  res.send('hello from lameduck\n')
})
app.get('/slow', (req, res) => {
  setTimeout(() => res.send('slow done\n'), Number(req.query.ms ?? 1000))
})

const server = createServer(app)
server.keepAliveTimeout = 65_000
server.headersTimeout = 66_000
const drain = drainHttpServer(shutdown, server, { timeoutMs: config.budgets.drain })

instrument(shutdown, { http: { app: drain }, caches: [views], ...(locks ? { locks: { redis: locks } } : {}) })
await listenAdmin(shutdown, {
  port: config.adminPort,
  handlers: [metricsHandler({ path: config.metricsPath })],
  paths: config.paths,
})

server.listen(config.port, () => console.log(`listening on ${config.port}, admin on ${config.adminPort}`))
