/**
 * Module state shared by every copy of lameduck loaded in the process: the ESM and CommonJS builds of one
 * package (an application that imports one and a dependency that requires the other), or two installs.
 * `key` names the state (`'http:protected-sockets'`); the first caller's `init()` creates it, every
 * later caller — from any copy — gets the same value. Keep the shape of a key's value stable across
 * versions, or version the key.
 */
export function shared<T>(key: string, init: () => T): T {
  const symbol = Symbol.for(`lameduck:${key}`)
  const store = globalThis as unknown as Record<symbol, T | undefined>
  let value = store[symbol]
  if (value === undefined) {
    value = init()
    Object.defineProperty(globalThis, symbol, { value, configurable: true, writable: false, enumerable: false })
  }
  return value
}
