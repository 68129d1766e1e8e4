import {
  AppError,
  type Caption,
  captionLabel,
  captionLanguage,
  JOB_ID_PATTERN,
  type Job,
  parseCaptions,
  requestLimits,
} from '@vpp/shared'
import { Hono } from 'hono'
import { CaptionTracks, checkCaptionable, jobDuration, newCaptionId } from '../caption-tracks.ts'
import { addCaptionsDoc, deleteCaptionsDoc, listCaptionsDoc } from '../captions-openapi.ts'
import type { StatusEnv } from '../status-deps.ts'
import { jobNotFound, type RouteContext } from './context.ts'

/** Room for the multipart framing and the two text fields around the file. */
const FORM_OVERHEAD_BYTES = 16 * 1024

/** `POST /jobs/{id}/captions`: the one status route with a body of more than NO_BODY_LIMIT. */
export const isCaptionUpload = (method: string, path: string) =>
  method === 'POST' && /^\/jobs\/[^/]+\/captions$/.test(path)

/**
 * A completed job's caption tracks: add (multipart `file`, `language`, `label`), list, delete.
 * The files and the master are written through `deps.files` (unset: 503).
 */
export function captionRoutes(ctx: RouteContext) {
  const { deps, now, presenter, viewerOf } = ctx
  const maxBytes = deps.captions?.maxBytes ?? 1024 * 1024
  const tracks = deps.files && new CaptionTracks(deps.store, deps.files, deps.captions?.maxTracks ?? 20)
  const routes = new Hono<StatusEnv>()
  const writer = () => {
    if (!tracks) {
      throw new AppError(
        'captions_unavailable',
        'This status service has no media storage to write caption tracks to',
        503,
      )
    }
    return tracks
  }
  const visible = async (id: string, c: Parameters<typeof viewerOf>[0]): Promise<Job> => {
    const job = JOB_ID_PATTERN.test(id) ? await deps.store.get(id, viewerOf(c)) : null
    if (!job) throw jobNotFound(id)
    return job
  }
  /** The tracks as clients see them: each with its WebVTT URL. */
  const shown = async (job: Job): Promise<Caption[]> => (await presenter.job(job)).captions ?? []

  routes.post(
    '/jobs/:job_id/captions',
    addCaptionsDoc,
    requestLimits({
      maxBytes: maxBytes + FORM_OVERHEAD_BYTES,
      timeoutMs: deps.requestTimeoutMs ?? 10_000,
      tooLarge: () => captionTooLarge(maxBytes),
    }),
    async (c) => {
      const id = c.req.param('job_id')
      const job = await visible(id, c)
      checkCaptionable(job)
      const writing = writer()
      const { file, language, label } = await captionForm(c.req.raw, maxBytes)
      const duration = jobDuration(job)
      const parsed = parseCaptions(file, duration)
      const at = now()
      const caption: Caption = { caption_id: newCaptionId(), language, label, created_at: at.toISOString() }
      const captions = await writing.add(caption, id, parsed.vtt, duration ?? parsed.end, at)
      deps.forgetJob?.(id)
      deps.logger.info('caption track added', {
        job_id: id,
        caption_id: caption.caption_id,
        cues: parsed.cues,
      })
      const added = (await shown({ ...job, captions })).find((t) => t.caption_id === caption.caption_id)
      return c.json(added ?? caption, 201)
    },
  )

  routes.get('/jobs/:job_id/captions', listCaptionsDoc, async (c) => {
    const job = await visible(c.req.param('job_id'), c)
    return c.json({ captions: await shown(job) })
  })

  routes.delete('/jobs/:job_id/captions/:caption_id', deleteCaptionsDoc, async (c) => {
    const id = c.req.param('job_id')
    const captionId = c.req.param('caption_id')
    await ctx.visibleJob(c, id)
    // The record's own list decides (captions-1.lua): a read cache may not show a track just added.
    await writer().remove(id, captionId, now())
    deps.forgetJob?.(id)
    deps.logger.info('caption track deleted', { job_id: id, caption_id: captionId })
    return c.body(null, 204)
  })

  return routes
}

/** The form's file (its bytes, at most `maxBytes`), language and label, checked. */
async function captionForm(request: Request, maxBytes: number) {
  const form = await request.formData().catch(() => {
    throw new AppError(
      'bad_request',
      'The body must be multipart/form-data with the fields file, language and label',
      400,
    )
  })
  const file = form.get('file')
  if (!(file instanceof File)) {
    throw new AppError('bad_request', 'Missing multipart field "file" with the caption file', 400)
  }
  if (file.size > maxBytes) throw captionTooLarge(maxBytes)
  const language = captionLanguage(form.get('language'))
  const label = captionLabel(form.get('label'))
  return { file: new Uint8Array(await file.arrayBuffer()), language, label }
}

/** 413, the connection closed after it (the rest of the body is not read). */
const captionTooLarge = (maxBytes: number) => {
  const error = new AppError(
    'payload_too_large',
    `The caption file is larger than ${maxBytes} bytes (CAPTIONS_MAX_BYTES)`,
    413,
  )
  error.headers.Connection = 'close'
  return error
}
