import type { ChunkClaim, Claim, StartResult } from '@vpp/shared'

/** A stream entry this transcoder is working on: a job, or a chunk work item. */
export interface Active {
  entryId: string
  /** The stream it came from: jobs, or a chunk stream. */
  stream: string
  jobId: string
  claim?: Claim
  /** A chunk work item's hold, when it is one. */
  chunk?: ChunkClaim
  /** A chunked job's coordinator waiting on its items: it holds no slot. */
  released?: boolean
  /** Aborted when the claim is lost. */
  lost: AbortController
  /** Already started by the previous job's finish (finishAndTakeNext). */
  prestarted?: StartResult
  /** Aborted when the job must stop (claim lost, or shutdown past its grace): kills its ffmpeg. */
  stop: AbortController
  /** Canceled through the API (POST /jobs/{id}/cancel): stopped, nothing recorded or published. */
  canceled?: boolean
  done: Promise<void>
}

/** A fresh Active for an entry (its work not begun). */
export function newActive(entryId: string, stream: string, jobId: string, prestarted?: StartResult): Active {
  return {
    entryId,
    stream,
    jobId,
    lost: new AbortController(),
    stop: new AbortController(),
    prestarted,
    done: Promise.resolve(),
  }
}
