// lightship@7.3.0 as published on npm ships only src/*.ts: its package.json exports ./dist/index.js,
// which is not in the tarball, so `import 'lightship'` fails. This transpiles the installed src/ as it
// is (TypeScript transpileModule, no change to the code) into test/bench/peers/lightship/dist/, with a
// node_modules link to the package's own dependencies, and returns the entry point's file URL — or
// undefined when the installed package is importable as it is.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('../../../', import.meta.url))

export async function lightshipEntry() {
  try {
    await import('lightship')
    return undefined
  } catch {}
  const require = createRequire(join(root, 'package.json'))
  const ts = require('typescript')
  const pkgReal = realpathSync(join(root, 'node_modules/lightship'))
  const out = fileURLToPath(new URL('./lightship/dist/', import.meta.url))
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const src = join(pkgReal, 'src')
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    )
  for (const file of walk(src)) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    })
    const target = join(out, relative(src, file)).replace(/\.ts$/, '.js')
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, outputText)
  }
  writeFileSync(join(out, 'package.json'), '{ "type": "module", "private": true }\n')
  // Bare imports (fastify, roarr, delay, serialize-error) resolve to the versions pnpm installed for lightship.
  const deps = join(out, 'node_modules')
  if (!existsSync(deps)) symlinkSync(dirname(pkgReal), deps, 'dir')
  return pathToFileURL(join(out, 'index.js')).href
}
