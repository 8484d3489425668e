// Core's tests use the shared test support.
export {
  closedAfterEach,
  delay,
  type LogEntry,
  memoryLogger,
  taskReport,
  testShutdown,
} from '../../../test/support/shutdown.js'
