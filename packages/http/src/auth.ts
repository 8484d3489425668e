import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * Checks `Authorization: Bearer <token>` in constant time: both sides are hashed first, so neither the
 * token's content nor its length shows in the timing.
 */
export function createTokenCheck(token: string): (headers: IncomingHttpHeaders) => boolean {
  const expected = digest(token)
  return (headers) => {
    const header = headers.authorization
    if (typeof header !== 'string') return false
    const match = /^Bearer ([\x21-\x7e]+)$/.exec(header)
    const given = digest(match?.[1] ?? '')
    // Compare even when the header is malformed, so that case takes the same time.
    return timingSafeEqual(given, expected) && match !== null
  }
}
