import { perResource } from '@lameduck/core/adapter'
import { describe, expect, it } from 'vitest'

describe('perResource (adapter kit)', () => {
  it('one value per resource for every user, disposed of with the last release; release() is idempotent', () => {
    const created: object[] = []
    const disposed: string[] = []
    let n = 0
    const use = perResource(
      `test:per-resource:${Math.random()}`,
      (resource: object) => {
        created.push(resource)
        return `value-${++n}`
      },
      (value) => disposed.push(value),
    )
    const server = {}
    const a = use(server)
    const b = use(server)
    expect(a.value).toBe('value-1')
    expect(b.value).toBe('value-1')
    expect(use({}).value).toBe('value-2')
    a.release()
    a.release() // a second release of the same lease does not count
    expect(disposed).toEqual([])
    b.release()
    expect(disposed).toEqual(['value-1'])
    // After the last release a new user gets a new value.
    expect(use(server).value).toBe('value-3')
    expect(created).toHaveLength(3)
  })

  it('is the same state for another copy of the package (the same key)', () => {
    const key = `test:per-resource-shared:${Math.random()}`
    const first = perResource(
      key,
      () => ({ id: 1 }),
      () => {},
    )
    const second = perResource(
      key,
      () => ({ id: 2 }),
      () => {},
    )
    const server = {}
    expect(second(server).value).toBe(first(server).value)
  })
})
