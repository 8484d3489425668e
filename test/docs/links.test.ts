import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// Every relative link of the docs a user reads (README.md, docs/**/*.md, packages/*/README.md) leads to a
// file that exists and, when it names one, to an anchor of that file (GitHub's heading slugs).
const root = fileURLToPath(new URL('../../', import.meta.url))

function markdown(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return markdown(path)
    return path.endsWith('.md') ? [path] : []
  })
}

const files = [
  join(root, 'README.md'),
  ...markdown(join(root, 'docs')),
  ...readdirSync(join(root, 'packages'))
    .map((pkg) => join(root, 'packages', pkg, 'README.md'))
    .filter((path) => existsSync(path)),
]

/** Text outside fenced code blocks: a link in a snippet is code, not a link. */
const prose = (path: string) => readFileSync(path, 'utf8').replace(/^```[\s\S]*?^```/gm, '')

/** GitHub's slug of a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .replace(/`/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')

const anchorCache = new Map<string, Set<string>>()
function anchors(path: string): Set<string> {
  const cached = anchorCache.get(path)
  if (cached) return cached
  const found = new Set<string>()
  const seen = new Map<string, number>()
  for (const [, heading] of prose(path).matchAll(/^#{1,6}\s+(.*)$/gm)) {
    const base = slug(heading as string)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    found.add(n === 0 ? base : `${base}-${n}`)
  }
  for (const [, id] of prose(path).matchAll(/<a (?:name|id)="([^"]+)"/g)) found.add(id as string)
  anchorCache.set(path, found)
  return found
}

describe('relative links in the docs', () => {
  it('finds the files to check', () => {
    expect(files.length).toBeGreaterThan(20)
  })

  it('lead to a file that exists, and to an anchor it has', () => {
    const broken: string[] = []
    for (const file of files) {
      for (const [, href] of prose(file).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(href as string)) continue
        const [path, anchor] = (href as string).split('#')
        const target = path ? resolve(dirname(file), path) : file
        const where = `${relative(root, file)}: ${href}`
        if (!existsSync(target)) broken.push(`${where} (no such file)`)
        else if (anchor && target.endsWith('.md') && !anchors(target).has(anchor))
          broken.push(`${where} (no such anchor)`)
      }
    }
    expect(broken).toEqual([])
  })

  it('would see a broken one', () => {
    // The check itself can fail: a heading's slug, and a missing one.
    expect(slug('Start-up, readiness and liveness')).toBe('start-up-readiness-and-liveness')
    expect(anchors(join(root, 'docs/kubernetes.md')).has('start-up-readiness-and-liveness')).toBe(true)
    expect(anchors(join(root, 'docs/kubernetes.md')).has('no-such-heading')).toBe(false)
  })
})
