// Core's tests use the shared test support.
export { delay, type LogEntry, memoryLogger, taskReport, testShutdown } from '../../../test/support/shutdown.js'
