import type { Job, Output, Skipped } from '../api/job.ts'
import type { StartResult } from './job-hash.ts'

/** How a job ended, as `JobStore.finish` records it. */
export type Result =
  | {
      status: 'completed'
      outputs: Output[]
      skipped?: Skipped[]
      /** 'kept': the upload stays (KEEP_ORIGINALS), for GET /jobs/{id}/original. */
      original?: 'kept'
    }
  | { status: 'failed'; error: string; code: string }

export type CreateResult = { created: true } | { created: false; jobId: string }

/**
 * Who is asking, when API keys are on: the key's id, and whether it is an admin key (which sees
 * every job). Without keys there is no viewer and every job is visible.
 */
export interface Viewer {
  client: string
  admin: boolean
}

/** A job is visible to an admin, and to the key that created it. */
export const mayView = (viewer: Viewer, owner: string | undefined) => viewer.admin || owner === viewer.client

/** One page of a listing, as the store reads it (the API's JobPage is its snake_case body). */
export interface JobListing {
  jobs: Job[]
  nextCursor: string | null
}

/** What finishAndTakeNext hands back: whether it was recorded, and the next job it started. */
export interface Finished {
  recorded: boolean
  next: { entryId: string; jobId: string; start: StartResult } | null
}
