import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// docs/errors.md lists every error and warning code the packages can throw, record or log, with what it
// means and what to do; this keeps it from drifting from the source in either direction.
const root = fileURLToPath(new URL('../../', import.meta.url))
const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return path.endsWith('.ts') ? [path] : []
  })
}

const packages = readdirSync(join(root, 'packages'))
const inSource = new Map<string, string>()
for (const pkg of packages) {
  for (const file of sources(join(root, 'packages', pkg, 'src'))) {
    for (const [, code] of readFileSync(file, 'utf8').matchAll(/['"`](LAMEDUCK_(?:ERR|WARN)_[A-Z0-9_]+)['"`]/g))
      inSource.set(code as string, pkg)
  }
}

const rows = new Map<string, string[]>()
for (const line of doc.split('\n')) {
  const match = /^\| `(LAMEDUCK_[A-Z0-9_]+)` \|(.*)\|\s*$/.exec(line)
  if (match)
    rows.set(
      match[1] as string,
      (match[2] as string).split('|').map((cell) => cell.trim()),
    )
}

describe('docs/errors.md', () => {
  it('lists every code used in the source', () => {
    const missing = [...inSource.keys()].filter((code) => !rows.has(code))
    expect(missing).toEqual([])
  })

  it('lists no code the source does not use', () => {
    const stale = [...rows.keys()].filter((code) => !inSource.has(code))
    expect(stale).toEqual([])
  })

  it('says for every code what it means and what to do', () => {
    const empty = [...rows].filter(([, cells]) => cells.length < 2 || cells.some((cell) => cell === ''))
    expect(empty.map(([code]) => code)).toEqual([])
  })
})
