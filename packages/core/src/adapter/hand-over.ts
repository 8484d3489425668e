// An HTTP server's drain and an adapter for what runs over its upgraded connections (WebSocket, …) both
// see those sockets. Left to the drain, an upgraded socket is waited for and, at the drain's deadline,
// destroyed: the client sees a dropped connection (WebSocket 1006) — and if the other adapter's own close
// takes longer (spread over a window, a close handshake), the drain cuts it short. An adapter that closes
// such sockets itself hands them over: the drain then neither waits for them nor destroys them, and the
// adapter answers for them, up to its own deadline. Marked on the socket under a `Symbol.for` key, so that
// every copy of the kit (ESM and CommonJS, two installs) reads the same mark.

const kHandedOver = Symbol.for('lameduck:socket:handed-over')

/** Who closes a handed-over socket: the adapter's registration. */
export interface SocketOwner {
  /** The owner's task name, for messages. */
  readonly name: string
  /** `false` once the owner is removed: the drain takes its sockets back. */
  readonly active: boolean
}

/**
 * Hands an upgraded socket (the `net.Socket` or `tls.TLSSocket` an HTTP server's `upgrade` gave) over to
 * `owner`: while `owner.active`, the HTTP drain of its server neither waits for it nor destroys it. The
 * owner must close it by its own deadline (and terminate it then). One owner per socket: the last wins.
 */
export function handOverSocket(socket: object, owner: SocketOwner): void {
  ;(socket as { [kHandedOver]?: SocketOwner })[kHandedOver] = owner
}

/** The active owner `socket` was handed over to, or `undefined` (none, or it was removed). */
export function socketOwner(socket: object): SocketOwner | undefined {
  const owner = (socket as { [kHandedOver]?: SocketOwner })[kHandedOver]
  return owner?.active === true ? owner : undefined
}
