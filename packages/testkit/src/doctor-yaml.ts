import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml'
import { DoctorError } from './doctor-errors.js'

/** Manifest text and the name findings give it: a path, or `<stdin>`. */
export interface ManifestSource {
  file: string
  text: string
}

/** Where a key is: 1-based, as editors count. */
export interface Position {
  line: number
  column: number
}

/** One Kubernetes object of the input (an item of a `List` is one too), its value and where its keys are. */
export interface ManifestObject {
  file: string
  kind: string
  name: string
  namespace: string | undefined
  value: Record<string, unknown>
  /**
   * The position of the key at `path` inside the object (`['spec', 'template', 'spec', 'containers', 0,
   * 'command']`); when the path does not exist all the way, of the deepest part of it that does.
   */
  at(path: readonly (string | number)[]): Position
}

/** The name stdin gets in findings and messages. */
export const STDIN_NAME = '<stdin>'

/**
 * Reads the inputs: files, folders (every `.yaml`/`.yml` file below, in order, skipping `.hidden` folders
 * and `node_modules`) and `-` for stdin. Throws `DoctorError` `LAMEDUCK_ERR_DOCTOR_UNREADABLE_INPUT`.
 */
export async function readManifestSources(
  inputs: readonly string[],
  stdin: AsyncIterable<string | Buffer> = process.stdin,
): Promise<ManifestSource[]> {
  const sources: ManifestSource[] = []
  let readStdin = false
  for (const input of inputs) {
    if (input === '-') {
      if (readStdin) throw new DoctorError('LAMEDUCK_ERR_DOCTOR_UNREADABLE_INPUT', '- (stdin) given twice')
      readStdin = true
      let text = ''
      for await (const chunk of stdin) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
      sources.push({ file: STDIN_NAME, text })
      continue
    }
    const unreadable = (error: unknown): never => {
      throw new DoctorError(
        'LAMEDUCK_ERR_DOCTOR_UNREADABLE_INPUT',
        `cannot read ${input}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (error as Error).message}`,
        { cause: error },
      )
    }
    const info = await stat(input).catch(unreadable)
    const files = info.isDirectory() ? await yamlFiles(input).catch(unreadable) : [input]
    if (files.length === 0)
      throw new DoctorError('LAMEDUCK_ERR_DOCTOR_UNREADABLE_INPUT', `no .yaml or .yml file in the folder ${input}`)
    for (const file of files) sources.push({ file, text: await readFile(file, 'utf8').catch(unreadable) })
  }
  return sources
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const files: string[] = []
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && entry.name !== 'node_modules') files.push(...(await yamlFiles(path)))
    } else if (/\.ya?ml$/.test(entry.name)) files.push(path)
  }
  return files
}

/**
 * Every object of every document of the sources. Throws `DoctorError`: `LAMEDUCK_ERR_DOCTOR_INVALID_YAML`
 * (with the file, line and column) and `LAMEDUCK_ERR_DOCTOR_INVALID_MANIFEST` (a document that is not an
 * object with a `kind`).
 */
export function parseManifests(sources: readonly ManifestSource[]): ManifestObject[] {
  const objects: ManifestObject[] = []
  for (const { file, text } of sources) {
    const lineCounter = new LineCounter()
    const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false })
    const list = Array.isArray(docs) ? docs : []
    const position = (offset: number): Position => {
      const { line, col } = lineCounter.linePos(offset)
      return { line, column: col }
    }
    for (const [index, doc] of list.entries()) {
      const error = doc.errors[0]
      if (error) {
        const { line, column } = position(error.pos[0])
        const helm = /\{\{.*\}\}/.test(text)
          ? ' — it looks like a Helm template: check what `helm template <chart> | lameduck-doctor -` renders'
          : ''
        throw new DoctorError(
          'LAMEDUCK_ERR_DOCTOR_INVALID_YAML',
          `${file}:${line}:${column}: invalid YAML: ${error.message.split('\n')[0]}${helm}`,
          { cause: error },
        )
      }
      const value = doc.toJS({ maxAliasCount: 1000 }) as unknown
      if (value === null || value === undefined) continue
      const where = `${file}:${position(doc.contents?.range[0] ?? 0).line}`
      const objectAt = (v: unknown, node: Node | null, what: string) => {
        if (v === null || typeof v !== 'object' || Array.isArray(v))
          throw new DoctorError(
            'LAMEDUCK_ERR_DOCTOR_INVALID_MANIFEST',
            `${where}: ${what} is not a Kubernetes object (a mapping with apiVersion and kind)`,
          )
        const o = v as Record<string, unknown>
        if (typeof o.kind !== 'string')
          throw new DoctorError('LAMEDUCK_ERR_DOCTOR_INVALID_MANIFEST', `${where}: ${what} has no kind`)
        const metadata = (o.metadata ?? {}) as Record<string, unknown>
        objects.push({
          file,
          kind: o.kind,
          name: typeof metadata.name === 'string' ? metadata.name : '(unnamed)',
          namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
          value: o,
          at: (path) => position(offsetOf(doc, node, path)),
        })
      }
      const what = `document ${index + 1}`
      const root = doc.contents as Node | null
      if (
        value !== null &&
        typeof value === 'object' &&
        (value as { kind?: unknown }).kind === 'List' &&
        Array.isArray((value as { items?: unknown }).items)
      ) {
        const itemsNode = child(doc, root, 'items')
        for (const [i, item] of ((value as { items: unknown[] }).items ?? []).entries())
          objectAt(item, child(doc, itemsNode, i), `item ${i} of ${what}`)
      } else objectAt(value, root, what)
    }
  }
  return objects
}

function resolve(doc: Document, node: unknown): Node | null {
  let n = node as Node | null
  for (let i = 0; i < 100 && isAlias(n); i++) n = (n.resolve(doc) as Node | undefined) ?? null
  return n
}

/** The value node at `key` of a mapping, or item `key` of a sequence. */
function child(doc: Document, node: Node | null, key: string | number): Node | null {
  const n = resolve(doc, node)
  if (isMap(n)) {
    const pair = n.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key))
    return pair ? resolve(doc, pair.value) : null
  }
  if (isSeq(n) && typeof key === 'number') return resolve(doc, n.items[key])
  return null
}

/** The offset of the key at `path` under `node`, or of the deepest part of the path that exists. */
function offsetOf(doc: Document, node: Node | null, path: readonly (string | number)[]): number {
  let n = resolve(doc, node)
  let offset = n?.range?.[0] ?? 0
  for (const key of path) {
    if (isMap(n)) {
      const pair = n.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key))
      if (!pair) break
      offset = (pair.key as Node).range?.[0] ?? offset
      n = resolve(doc, pair.value)
    } else if (isSeq(n) && typeof key === 'number') {
      const item = resolve(doc, n.items[key])
      if (!item) break
      offset = item.range?.[0] ?? offset
      n = item
    } else break
  }
  return offset
}
