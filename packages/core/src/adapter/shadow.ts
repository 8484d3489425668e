/**
 * Defines `overrides` on `target` as own properties (with `Object.defineProperty`, which also passes through
 * proxies without a `defineProperty` trap, like Nest's application) and returns the function that puts back
 * what was there — for an adapter that must turn a client's or framework's member into a no-op for the
 * length of a call (its private internals, read in one file of the adapter, see the guide's rule 8).
 */
export function shadow(target: object, overrides: Record<string, unknown>): () => void {
  const saved = Object.keys(overrides).map((key) => [key, Object.getOwnPropertyDescriptor(target, key)] as const)
  for (const [key, value] of Object.entries(overrides))
    Object.defineProperty(target, key, { value, configurable: true, writable: true, enumerable: false })
  return () => {
    for (const [key, descriptor] of saved) {
      if (descriptor) Object.defineProperty(target, key, descriptor)
      else delete (target as Record<string, unknown>)[key]
    }
  }
}
