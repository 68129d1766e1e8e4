import { CANCEL_JOB_LUA } from './cancel-job.ts'
import {
  CHUNK_HEARTBEAT_LUA,
  FINISH_CHUNK_LUA,
  PLAN_CHUNKS_LUA,
  PLAYABLE_LUA,
  PROMOTE_CHUNKS_LUA,
  START_CHUNK_LUA,
} from './chunk-work.ts'
import { CREATE_JOB_LUA } from './create-job.ts'
import { DELETE_JOB_LUA } from './delete-job.ts'
import { DISCARD_DEAD_LETTER_LUA } from './discard-dead-letter.ts'
import { EXPIRE_OUTPUTS_LUA } from './expire-outputs.ts'
import { EXTEND_LOCK_LUA } from './extend-lock.ts'
import { FINISH_JOB_LUA } from './finish-job.ts'
import { withIncludes } from './fragments.ts'
import { HEARTBEAT_LUA } from './heartbeat.ts'
import { PROGRESS_LUA } from './progress.ts'
import { PROMOTE_DUE_LUA } from './promote-due.ts'
import { RELEASE_LOCK_LUA } from './release-lock.ts'
import { REMOVE_IDLE_CONSUMERS_LUA } from './remove-idle-consumers.ts'
import { RETRY_DEAD_LETTER_LUA } from './retry-dead-letter.ts'
import { RETRY_JOB_LUA } from './retry-job.ts'
import { RETURN_JOB_LUA } from './return-job.ts'
import { START_JOB_LUA } from './start-job.ts'
import { CLAIM_DELIVERIES_LUA, ENQUEUE_DELIVERIES_LUA, SETTLE_DELIVERY_LUA } from './webhook-deliveries.ts'

/** Every Lua script of the job store, with its includes put in. */
export const SCRIPTS = {
  create: withIncludes(CREATE_JOB_LUA),
  start: withIncludes(START_JOB_LUA),
  finish: withIncludes(FINISH_JOB_LUA),
  retry: withIncludes(RETRY_JOB_LUA),
  returnJob: withIncludes(RETURN_JOB_LUA),
  promote: withIncludes(PROMOTE_DUE_LUA),
  heartbeat: withIncludes(HEARTBEAT_LUA),
  progress: withIncludes(PROGRESS_LUA),
  retryDeadLetter: withIncludes(RETRY_DEAD_LETTER_LUA),
  removeIdleConsumers: withIncludes(REMOVE_IDLE_CONSUMERS_LUA),
  discardDeadLetter: withIncludes(DISCARD_DEAD_LETTER_LUA),
  cancel: withIncludes(CANCEL_JOB_LUA),
  delete: withIncludes(DELETE_JOB_LUA),
  enqueueDeliveries: ENQUEUE_DELIVERIES_LUA,
  claimDeliveries: CLAIM_DELIVERIES_LUA,
  settleDelivery: SETTLE_DELIVERY_LUA,
  expireOutputs: withIncludes(EXPIRE_OUTPUTS_LUA),
  extendLock: withIncludes(EXTEND_LOCK_LUA),
  releaseLock: withIncludes(RELEASE_LOCK_LUA),
  planChunks: withIncludes(PLAN_CHUNKS_LUA),
  startChunk: withIncludes(START_CHUNK_LUA),
  chunkHeartbeat: withIncludes(CHUNK_HEARTBEAT_LUA),
  finishChunk: withIncludes(FINISH_CHUNK_LUA),
  promoteChunks: withIncludes(PROMOTE_CHUNKS_LUA),
  playable: withIncludes(PLAYABLE_LUA),
}
export type ScriptName = keyof typeof SCRIPTS
