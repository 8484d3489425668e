#!/usr/bin/env node
// Builds the package in the current directory twice: ESM (the package's own format) and CommonJS,
// so that a CommonJS service on any Node 20 — including those before require(esm) — can load it.
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const tsc = require.resolve('typescript/bin/tsc')
const cwd = process.cwd()

rmSync(join(cwd, 'dist'), { recursive: true, force: true })

function run(args) {
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', ...args], {
    cwd,
    stdio: 'inherit',
  })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

run(['--outDir', 'dist/esm'])
run([
  '--outDir',
  'dist/cjs',
  '--module',
  'commonjs',
  '--moduleResolution',
  'node10',
  '--verbatimModuleSyntax',
  'false',
  '--declarationMap',
  'false',
])
mkdirSync(join(cwd, 'dist/cjs'), { recursive: true })
writeFileSync(join(cwd, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n')
