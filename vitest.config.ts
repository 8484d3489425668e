import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // In-process tests run against the sources; forked fixtures load the built packages like users do,
    // and so does the testkit, whose load generator runs in a worker thread that needs compiled files.
    alias: ['core', 'http', 'express', 'cache', 'redis', 'pg', 'prometheus'].map((pkg) => ({
      find: new RegExp(`^@lameduck/${pkg}$`),
      replacement: src(pkg),
    })),
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    typecheck: { enabled: true, include: ['packages/*/test/**/*.test-d.ts'] },
  },
})
