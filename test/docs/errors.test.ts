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
const byPackage = new Map<string, Set<string>>()
for (const pkg of packages) {
  const codes = new Set<string>()
  byPackage.set(pkg, codes)
  for (const file of sources(join(root, 'packages', pkg, 'src'))) {
    for (const [, code] of readFileSync(file, 'utf8').matchAll(/['"`](LAMEDUCK_(?:ERR|WARN)_[A-Z0-9_]+)['"`]/g)) {
      // A code named by another package (e.g. an adapter checking core's LAMEDUCK_ERR_DUPLICATE_TASK) is that package's.
      if (!inSource.has(code as string)) inSource.set(code as string, pkg)
      codes.add(code as string)
    }
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

// Every package exports its closed catalogue of codes — `<PKG>_ERROR_CODES` and `<PKG>_WARNING_CODES`
// (`as const`, with their union types) — and the catalogue is exactly what its source uses, less the codes
// of other packages it only names.
describe.each(packages)('the code catalogue of @lameduck/%s', (pkg) => {
  it('lists exactly the codes its source throws, records or warns with', async () => {
    const module = (await import(join(root, 'packages', pkg, 'src/index.ts'))) as Record<string, unknown>
    const catalogues = Object.entries(module).filter(([key]) => /^[A-Z]+_(ERROR|WARNING)_CODES$/.test(key))
    expect(catalogues.map(([key]) => key.replace(/^[A-Z]+_/, '')).sort()).toEqual(['ERROR_CODES', 'WARNING_CODES'])
    const listed = new Set(catalogues.flatMap(([, codes]) => codes as string[]))
    const own = [...(byPackage.get(pkg) ?? [])].filter((code) => inSource.get(code) === pkg || listed.has(code))
    expect([...listed].sort()).toEqual(own.sort())
    for (const [key, codes] of catalogues)
      for (const code of codes as string[])
        expect(code.startsWith(key.includes('ERROR') ? 'LAMEDUCK_ERR_' : 'LAMEDUCK_WARN_')).toBe(true)
  })
})
