#!/usr/bin/env node
// The exec preStop hook of @lameduck/http (see its README). It needs node alone — no shell, no npx — so a
// distroless image runs it as ["/nodejs/bin/node", "/app/node_modules/@lameduck/http/bin/lameduck-prestop.js"].
import { main } from '../dist/esm/prestop.js'

// The hook owns its process: exit with main's code at once, whatever the service left half-open.
process.exit(await main(process.argv.slice(2)))
