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
