#!/usr/bin/env node
import { main } from '../dist/esm/cli.js'

// The CLI owns its process: exit with main's code even if a service left a socket half-open.
process.exit(await main(process.argv.slice(2)))
