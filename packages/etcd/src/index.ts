export type { EtcdAttachment } from './attached.js'
export type { EtcdClient } from './client.js'
export { type CloseEtcdOptions, closeEtcd } from './close.js'
export { ETCD_DEFAULTS } from './defaults.js'
export type { EtcdCampaignOptions, EtcdLeadership } from './election.js'
export {
  ETCD_ERROR_CODES,
  ETCD_WARNING_CODES,
  type EtcdErrorCode,
  EtcdLockTimeoutError,
  EtcdShuttingDownError,
  type EtcdWarningCode,
  LeaseGrantError,
  LeaseLostError,
  type LeaseLostReason,
  LeaseRevokeError,
  type LeaseSummary,
} from './errors.js'
export type { EtcdRegisteredKey } from './keys.js'
export { createLease, type EtcdLease, type EtcdLeaseOptions, type RevokeResult } from './lease.js'
export type { EtcdLock, EtcdLockOptions, ReleaseOutcome } from './lock.js'
