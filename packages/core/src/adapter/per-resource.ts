import { shared } from './shared.js'

/** One user's hold on a {@link perResource} value; `release()` is idempotent. */
export interface ResourceLease<T> {
  readonly value: T
  release(): void
}

/**
 * One `T` per resource (a server, a client), shared by every user of it — another coordinator's adapter,
 * another copy's of the package (ESM and CommonJS side by side, through {@link shared} state under `key`) —
 * created by the first `use(resource)` and disposed of when the last user releases it. For what must not
 * exist twice on one resource: a tracker of a server's connections (two would mark the same sockets twice).
 */
export function perResource<R extends object, T>(
  key: string,
  create: (resource: R) => T,
  dispose: (value: T) => void,
): (resource: R) => ResourceLease<T> {
  const entries = shared(key, () => new WeakMap<object, { value: T; users: number }>())
  return (resource) => {
    let entry = entries.get(resource)
    if (entry === undefined) {
      entry = { value: create(resource), users: 0 }
      entries.set(resource, entry)
    }
    entry.users++
    const used = entry
    let released = false
    return {
      value: used.value,
      release() {
        if (released) return
        released = true
        if (--used.users > 0) return
        if (entries.get(resource) === used) entries.delete(resource)
        dispose(used.value)
      },
    }
  }
}
