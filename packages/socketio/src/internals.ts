// Every private field of socket.io and engine.io this package reads, in one place, each with its fallback.
// None is needed for the close itself (`conn.close()` is public); they make the stats exact and find the
// connections opened before `closeSocketIo` was called.

/** engine.io's `clients` (protected in its types: every open connection by id), or `undefined`. */
export function engineClients(engine: object): object[] | undefined {
  const clients = (engine as { clients?: unknown }).clients
  if (clients === null || typeof clients !== 'object') return undefined
  return Object.values(clients as Record<string, unknown>).filter(
    (conn): conn is object => conn !== null && typeof conn === 'object',
  )
}

/**
 * How many emits of a socket.io `Socket` await their acknowledgement (its private `acks` map). Fallback: 0 —
 * the count is then missing from the stats, nothing else changes.
 */
export function pendingAcks(socket: object): number {
  const acks = (socket as { acks?: unknown }).acks
  return acks instanceof Map ? acks.size : 0
}

/** How many packets an engine.io connection still holds unsent (its private `writeBuffer`). Fallback: 0. */
export function unsentPackets(conn: object): number {
  const buffer = (conn as { writeBuffer?: unknown }).writeBuffer
  return Array.isArray(buffer) ? buffer.length : 0
}

/**
 * Whether Node is writing a response on an HTTP/1 socket (its private `_httpMessage`, which @lameduck/http
 * reads too): a socket shared by engine.io's polls and the application's own requests (a browser's) is idle
 * only when neither has one in flight. `undefined` where it cannot be read: the caller counts engine.io's
 * own requests only.
 */
export function respondingOn(socket: object): boolean | undefined {
  if (!('_httpMessage' in socket)) return undefined
  const message = (socket as { _httpMessage?: unknown })._httpMessage
  return message !== null && message !== undefined
}
