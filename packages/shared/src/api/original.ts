import { z } from 'zod'
import { displayName } from '../security/filenames.ts'

/** `GET /jobs/{job_id}/original`: a short-lived URL that downloads the job's upload as it came. */
export const OriginalLinkSchema = z
  .object({
    url: z
      .string()
      .describe(
        'Downloads the upload (Content-Disposition: attachment): a presigned GET (S3) or a signed `/originals/…` URL (local storage), valid until `expires_at`',
      ),
    expires_at: z.iso.datetime().describe('When the URL stops working (ORIGINAL_URL_TTL after it was made)'),
    filename: z
      .string()
      .describe("The upload's file name, cleaned of quotes, slashes and control characters"),
    size_bytes: z.number().int().nonnegative(),
  })
  .meta({
    id: 'OriginalLink',
    examples: [
      {
        url: 'http://localhost:8001/originals/1764590300.q1UHbO0YhX3xjvgZ3m3mIRq0pYbW9G1xI7g2d8E5yK4/0b3c5f0e-3c1e-4d8a-9a4e-2f1f0c6a9b7d',
        expires_at: '2026-12-01T12:05:00.000Z',
        filename: 'holiday.mp4',
        size_bytes: 7340032,
      },
    ],
  })
export type OriginalLink = z.infer<typeof OriginalLinkSchema>

/**
 * A file name fit for a download's Content-Disposition and for showing: the name as stored
 * (displayName: its last path segment, without control characters or bidi overrides), without
 * quotes; `original` when nothing is left.
 */
export function cleanFilename(name: string): string {
  const clean = displayName(name, 'original').replace(/"/g, '').trim()
  return clean === '' ? 'original' : clean
}

/**
 * `attachment` with `filename` (cleaned): an ASCII fallback (`filename="…"`, other characters as
 * `_`) and the exact name in UTF-8 (`filename*`, RFC 6266 and 8187).
 */
export function attachment(filename: string): string {
  const name = cleanFilename(filename)
  const ascii = name.replace(/[^\x20-\x7e]/g, '_')
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}
