import { shared } from './shared.js'

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

// A socket can only be handed over once the adapter sees it. An adapter for a protocol carried by plain HTTP
// requests (socket.io's long-polling, whose polls are requests held open) sees each request only after the
// HTTP drain's own request listener has run — and from the first trigger that listener answers every new
// request with `Connection: close` (lame duck): every poll would then open a new TCP connection, routed
// anew, before the adapter's orderly close. A claim is consulted by the drain *before* it decides: the
// requests it matches have their sockets handed over there and then.
const claims = shared('adapter:request-claims:v1', () => new WeakMap<object, Set<RequestClaim>>())

/** What a request claim reads of a request: `node:http`'s `IncomingMessage` has it. */
export interface ClaimedRequest {
  readonly url?: string | undefined
  readonly method?: string | undefined
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
}

/** A claim on some of the requests of one server: see {@link claimRequests}. */
export interface RequestClaim {
  readonly owner: SocketOwner
  match(req: ClaimedRequest): boolean
}

/**
 * Claims the requests on `server` that `match` (the HTTP server, as the HTTP drain of it is given): while
 * `owner.active`, the drain hands each such request's socket over to `owner` before deciding anything about
 * it — no `Connection: close` asked of it, not waited for, not destroyed (see {@link handOverSocket}). The
 * owner then answers for those sockets, and must close them by its own deadline. Returns the function that
 * withdraws the claim (idempotent).
 */
export function claimRequests(server: object, owner: SocketOwner, match: (req: ClaimedRequest) => boolean): () => void {
  const claim: RequestClaim = { owner, match }
  let set = claims.get(server)
  if (set === undefined) {
    set = new Set()
    claims.set(server, set)
  }
  set.add(claim)
  const held = set
  return () => {
    held.delete(claim)
    if (held.size === 0 && claims.get(server) === held) claims.delete(server)
  }
}

/**
 * For an HTTP drain: the active owner that claimed `req` on `server` (and `req`'s socket handed over to it
 * now), or `undefined` — no claim on this server, or none matches.
 */
export function requestClaim(
  server: object,
  req: ClaimedRequest & { readonly socket?: object | null },
): SocketOwner | undefined {
  const set = claims.get(server)
  if (set === undefined) return undefined
  for (const claim of set) {
    if (claim.owner.active !== true || !claim.match(req)) continue
    if (req.socket) handOverSocket(req.socket, claim.owner)
    return claim.owner
  }
  return undefined
}
