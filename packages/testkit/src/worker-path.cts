// CommonJS on purpose: `__dirname` is the one way to find a sibling file that compiles in both builds.
import path = require('node:path')

export = {
  loadWorkerPath(): string {
    return path.join(__dirname, 'load-worker.js')
  },
  reaperPath(): string {
    return path.join(__dirname, 'reaper.js')
  },
}
