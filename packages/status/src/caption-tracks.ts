import {
  AppError,
  type Caption,
  type CaptionChange,
  captionPlaylist,
  type Job,
  type JobStore,
  withSubtitles,
} from '@vpp/shared'
import type { JobFiles } from './job-files.ts'

/** The HLS master, which lists the tracks. */
const MASTER = 'hls/master.m3u8'
const PLAYLIST = 'application/vnd.apple.mpegurl'
/** How long one change may hold a job's caption lock (its files and the master written). */
const LOCK_LEASE_MS = 30_000
/** How long a change waits for another change of the same job to finish. */
const LOCK_WAIT_MS = 5_000

/** A new track's id: `cap_` and 16 letters and digits (it names the track's folder). */
export function newCaptionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  return `cap_${[...bytes].map((b) => alphabet[b % alphabet.length]).join('')}`
}

/** The video's length in seconds (its longest output's), or null when none says. */
export function jobDuration(job: Job): number | null {
  const durations = job.outputs.flatMap((o) => (o.duration === null ? [] : [o.duration]))
  return durations.length > 0 ? Math.max(...durations) : null
}

/** 409 unless caption tracks can be added to `job`: completed, with an HLS stream. */
export function checkCaptionable(job: Job): void {
  if (job.status !== 'completed') {
    throw new AppError(
      'job_not_completed',
      `Job ${job.job_id} is ${job.status}: caption tracks are added once it is completed`,
      409,
    )
  }
  if (!job.outputs.some((o) => o.profile === 'hls')) {
    throw new AppError(
      'no_hls_stream',
      `Job ${job.job_id} has no HLS stream (profile hls): caption tracks are listed in its master`,
      409,
    )
  }
}

/**
 * A completed job's caption tracks, written: each track's WebVTT and its playlist under
 * `captions/{caption_id}/`, the record through `store.captions` and the HLS master rewritten to
 * list them all. One change of a job at a time (its lock), so no change loses another's master.
 */
export class CaptionTracks {
  constructor(
    readonly store: JobStore,
    readonly files: JobFiles,
    readonly maxTracks: number,
  ) {}

  /** Add `caption` with its WebVTT text `vtt` lasting `duration` s; the record's tracks after. */
  add(caption: Caption, jobId: string, vtt: string, duration: number, now: Date): Promise<Caption[]> {
    return this.#locked(jobId, async () => {
      const tracks = refused(
        jobId,
        await this.store.captions.add(jobId, caption, this.maxTracks, now),
        this.maxTracks,
      )
      try {
        const folder = `captions/${caption.caption_id}`
        await this.files.publishText(jobId, 'captions', [
          { name: `${folder}/index.vtt`, text: vtt, contentType: 'text/vtt' },
          {
            name: `${folder}/index.m3u8`,
            text: captionPlaylist('index.vtt', duration),
            contentType: PLAYLIST,
          },
        ])
        await this.#master(jobId, tracks)
      } catch (error) {
        // Not listed without its files: the record and the master go back to what they were.
        await this.store.captions.remove(jobId, caption.caption_id, now).catch(() => {})
        await this.files.removeFolder(jobId, `captions/${caption.caption_id}`).catch(() => {})
        throw error
      }
      return tracks
    })
  }

  /** Remove track `captionId`: off the record and the master, then its files. */
  remove(jobId: string, captionId: string, now: Date): Promise<void> {
    return this.#locked(jobId, async () => {
      const before = (await this.store.get(jobId))?.captions?.find((c) => c.caption_id === captionId)
      const tracks = refused(jobId, await this.store.captions.remove(jobId, captionId, now), this.maxTracks)
      try {
        await this.#master(jobId, tracks)
      } catch (error) {
        // Still in the master, so still listed: the record goes back to what it was.
        if (before) await this.store.captions.add(jobId, before, this.maxTracks, now).catch(() => {})
        throw error
      }
      await this.files.removeFolder(jobId, `captions/${captionId}`)
    })
  }

  /** The master rewritten to list `tracks` (written whole, in place). */
  async #master(jobId: string, tracks: Caption[]): Promise<void> {
    const master = await this.files.read(jobId, MASTER)
    if (!master)
      throw new AppError('no_hls_stream', `Job ${jobId} has no HLS master to list its captions in`, 409)
    const text = withSubtitles(new TextDecoder().decode(master), tracks)
    await this.files.publishText(jobId, 'captions', [{ name: MASTER, text, contentType: PLAYLIST }])
  }

  async #locked<T>(jobId: string, run: () => Promise<T>): Promise<T> {
    const lock = this.store.captions.lock(jobId, LOCK_LEASE_MS)
    const deadline = Date.now() + LOCK_WAIT_MS
    while (!(await lock.acquire())) {
      if (Date.now() > deadline) {
        throw new AppError(
          'captions_busy',
          `Another caption change of job ${jobId} is under way; try again`,
          409,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    try {
      return await run()
    } finally {
      await lock.release().catch(() => {})
    }
  }
}

/** The tracks after a change, or the error its refusal is. */
function refused(jobId: string, change: CaptionChange, max: number): Caption[] {
  if (change.ok) return change.captions
  switch (change.reason) {
    case 'missing':
      throw new AppError('not_found', `Job ${jobId} not found`, 404)
    case 'status':
      throw new AppError(
        'job_not_completed',
        `Job ${jobId} is ${change.detail}: caption tracks change only while it is completed`,
        409,
      )
    case 'full':
      throw new AppError(
        'caption_limit',
        `Job ${jobId} has ${max} caption tracks already (MAX_CAPTION_TRACKS)`,
        409,
      )
    case 'duplicate':
      throw new AppError(
        'caption_exists',
        `Track ${change.detail} of job ${jobId} has that label already`,
        409,
      )
    case 'absent':
      throw new AppError('not_found', `Job ${jobId} has no caption track ${change.detail}`, 404)
  }
}
