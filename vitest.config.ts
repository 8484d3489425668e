import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (dir: string, subpath?: string) =>
  fileURLToPath(new URL(`./packages/${dir}/src/${subpath ? `${subpath}/` : ''}index.ts`, import.meta.url))

// Files that run whole services under load (several processes each, timed end to end). On a 2-core machine
// two of them side by side starve each other's replicas of CPU and their timing bounds stop meaning anything,
// so they run one at a time, after the parallel group has finished.
// Every package but the testkit (see below), by its directory and its name: tests import its sources.
const sourcePackages = readdirSync(new URL('./packages/', import.meta.url))
  .filter((dir) => dir !== 'testkit')
  .map((dir) => {
    const { name } = JSON.parse(readFileSync(new URL(`./packages/${dir}/package.json`, import.meta.url), 'utf8'))
    return { dir, name: name as string }
  })

const endToEnd = [
  'test/e2e/**/*.test.ts',
  'packages/*/test/**/*.e2e.test.ts',
  'test/faults/**/*.test.ts',
  'packages/testkit/test/**/*.test.ts',
]

export default defineConfig({
  resolve: {
    // In-process tests run against the sources; forked fixtures load the built packages like users do,
    // and so does the testkit, whose load generator runs in a forked child process that needs compiled files.
    alias: [
      { find: /^@lameduck\/core\/adapter$/, replacement: src('core', 'adapter') },
      ...sourcePackages.map(({ dir, name }) => ({
        find: new RegExp(`^${name.replace(/[.]/g, '\\.')}$`),
        replacement: src(dir),
      })),
      // The package is named after the framework, its directory without the dot.
      { find: /^@lameduck\/socket\.io$/, replacement: src('socketio') },
    ],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          exclude: endToEnd,
          typecheck: { enabled: true, include: ['packages/*/test/**/*.test-d.ts'] },
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: endToEnd,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
