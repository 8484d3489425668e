import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string) => {
  const [name, subpath] = pkg.split('/')
  return fileURLToPath(new URL(`./packages/${name}/src/${subpath ? `${subpath}/` : ''}index.ts`, import.meta.url))
}

// Files that run whole services under load (several processes each, timed end to end). On a 2-core machine
// two of them side by side starve each other's replicas of CPU and their timing bounds stop meaning anything,
// so they run one at a time, after the parallel group has finished.
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
      { find: /^@lameduck\/core\/adapter$/, replacement: src('core/adapter') },
      ...['core', 'http', 'express', 'fastify', 'cache', 'redis', 'pg', 'prometheus', 'ws'].map((pkg) => ({
        find: new RegExp(`^@lameduck/${pkg}$`),
        replacement: src(pkg),
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
