// The ESM and CommonJS builds of this package loaded side by side in one process (an application imports
// one, a dependency requires the other): the state they must share is shared — protected connections, the
// servers that have a drain, error identity. Runs test/fixtures/two-copies.mjs against dist (build first).
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/two-copies.mjs', import.meta.url))
const built = ['../dist/esm/index.js', '../dist/cjs/index.js'].every((path) =>
  existsSync(new URL(path, import.meta.url)),
)

describe('two copies of @lameduck/http in one process', () => {
  it('the drain of one copy keeps the /shutdown connection the other protects; duplicates and errors are seen across', async () => {
    expect(built, 'packages/http/dist is missing: run pnpm --filter @lameduck/http build').toBe(true)
    const { stdout } = await promisify(execFile)(process.execPath, [fixture], { timeout: 20_000 })
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}')
    expect(result.distinctCopies).toBe(true)
    // The probe of the CommonJS copy protected the connection: the drain of the ESM copy left it open and
    // did not force-close it at its deadline, which would have lost the report.
    expect(result.status).toBe(200)
    expect(result.drainTask).toMatchObject({ outcome: 'ok' })
    expect(result.stats).toMatchObject({ forced: 0 })
    expect(result.duplicate).toEqual({ code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION', task: 'http-drain' })
    expect(result.errorIdentity).toEqual({ cjsInEsm: true, esmInCjs: true, tokenCjsInEsm: true, notOther: false })
  })
})
