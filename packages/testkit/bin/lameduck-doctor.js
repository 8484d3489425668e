#!/usr/bin/env node
import { doctorMain } from '../dist/esm/doctor-cli.js'

process.exitCode = await doctorMain(process.argv.slice(2))
