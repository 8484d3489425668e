export { GRPC_DEFAULTS } from './defaults.js'
export {
  drainGrpcServer,
  GRPC_DRAIN_OPTIONS,
  type GrpcDrain,
  type GrpcDrainContext,
  type GrpcDrainOptions,
} from './drain.js'
export {
  GRPC_ERROR_CODES,
  GRPC_WARNING_CODES,
  GrpcDrainForcedError,
  type GrpcDrainStats,
  type GrpcErrorCode,
  GrpcHealthServedError,
  type GrpcWarningCode,
} from './errors.js'
export type { GrpcHealth, GrpcServingStatus } from './health.js'
