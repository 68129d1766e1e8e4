import type { AccessEnv, JobStore, Logger } from '@vpp/shared'
import type { Context, MiddlewareHandler } from 'hono'
import type { Registry } from 'prom-client'
import type { EventHub } from './event-hub.ts'
import type { JobFiles } from './job-files.ts'
import type { MediaSigner } from './media-token.ts'
import type { Originals } from './originals.ts'
import type { DirectUrl } from './presenter.ts'
import type { RenderService } from './renders/service.ts'

/** What the status app is built from (createApp): its store, its settings, its optional parts. */
export interface StatusDeps {
  store: JobStore
  logger: Logger
  registry: Registry
  /** API keys; empty: no key needed. */
  apiKeys?: readonly string[]
  /** METRICS_TOKEN: the bearer token `/metrics` asks for; unset: open. */
  metricsToken?: string
  /** Time limit of every request (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number
  /**
   * Serves a job's published file (the runtime's file server over OUTPUT_DIR; the route checks
   * the names first): `/media/{job_id}/{file}`. Unset: no media route (S3 URLs come from storage).
   */
  media?: (file: (c: Context<StatusEnv>) => string) => MiddlewareHandler
  /** Where clients fetch an output directly instead of through `/media` (S3); see Presenter. */
  directUrl?: DirectUrl
  /** Base of the media URLs (PUBLIC_URL). */
  publicUrl?: string
  /** Signed playback (API keys on): media URLs carry a token made by this signer. */
  signer?: MediaSigner
  /** Where status finds kept uploads and makes their URLs (`GET /jobs/{job_id}/original`); unset: 503. */
  originals?: Originals
  /** Where status writes a job's caption tracks and renders (unset: those routes answer 503). */
  files?: JobFiles
  /** On-demand thumbnails and animated previews (`/media/…?time=`), written through `files`; unset: 503. */
  renders?: RenderService
  /** Caption uploads: the largest file (CAPTIONS_MAX_BYTES) and most tracks a job (MAX_CAPTION_TRACKS). */
  captions?: { maxBytes: number; maxTracks: number }
  /** ADMIN_API_KEYS: keys that see every job, `/stats` and the dead-letter queue. */
  adminKeys?: readonly string[]
  /** The live end of the event log, for the SSE routes; unset: no SSE routes. */
  events?: EventHub
  /** How often an idle event stream gets a comment line (SSE_KEEPALIVE_MS). */
  keepAliveMs?: number
  /** Origins allowed to fetch media (CORS_ORIGINS); default any. */
  corsOrigins?: readonly string[]
  /** The web console at `/` (unset: none); keys and profiles come from these deps. */
  console?: { ingestUrl?: string; ingestPort?: number }
  /**
   * Drops what the read cache (STATUS_READ_CACHE_MS) holds of a job this service has just
   * changed, so its next read sees the change at once (the invalidation may come a little later).
   */
  forgetJob?: (id: string) => void
  now?: () => Date
}

/** The app's context: who asks, and the media file a route picked. */
export type StatusEnv = { Variables: AccessEnv['Variables'] & { mediaFile?: string } }
