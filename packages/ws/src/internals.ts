// The one private field of ws this package reads, in one place: the socket under a WebSocket. It is needed
// only for connections accepted before `closeWebSockets` was called (the others are seen at their upgrade,
// through the server's public `headers` event): to hand them over so that the HTTP drain does not destroy
// them. Without it (another ws version) those few are left to the HTTP drain, as they would be without this
// package.

/** The `net.Socket` (or `tls.TLSSocket`) under a ws `WebSocket`, or `undefined` when it cannot be read. */
export function socketOf(ws: object): object | undefined {
  const socket = (ws as { _socket?: unknown })._socket
  if (socket === null || typeof socket !== 'object') return undefined
  return typeof (socket as { destroy?: unknown }).destroy === 'function' ? socket : undefined
}
