import { AppError, PermanentJobError, type UploadSink } from '@vpp/shared'

export interface DownloadOptions {
  maxBytes: number
  timeoutMs: number
  signal?: AbortSignal
  /** Asked before the download is moved into place: false when another worker took the job over. */
  stillOwner?: () => Promise<boolean>
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 5

/**
 * Download a URL import into `sink`: http(s) only at every hop, at most 5 redirects, a size cap
 * (declared and counted) and a total time cap. The body is streamed, never held whole.
 */
export async function download(url: string, sink: UploadSink, options: DownloadOptions): Promise<number> {
  const signals = [AbortSignal.timeout(options.timeoutMs)]
  if (options.signal) signals.push(options.signal)
  const signal = AbortSignal.any(signals)
  let current = new URL(url)
  try {
    for (let hop = 0; ; hop++) {
      if (current.protocol !== 'http:' && current.protocol !== 'https:') {
        throw new PermanentJobError('url_not_allowed', 'Only http:// and https:// URLs can be imported')
      }
      const response = await fetch(current, { redirect: 'manual', signal })
      if (REDIRECTS.has(response.status)) {
        await response.body?.cancel()
        const location = response.headers.get('location')
        if (!location)
          throw new PermanentJobError(
            'download_failed',
            `Download failed: HTTP ${response.status} without a Location`,
          )
        if (hop >= MAX_REDIRECTS)
          throw new PermanentJobError('download_failed', 'Download failed: too many redirects')
        current = new URL(location, current)
        continue
      }
      if (!response.ok || !response.body) {
        await response.body?.cancel()
        const message = `Download failed: HTTP ${response.status}`
        // 4xx will not change on a retry; 5xx may.
        throw response.status < 500
          ? new PermanentJobError('download_failed', message)
          : new AppError('download_failed', message)
      }
      const declared = Number(response.headers.get('content-length') ?? Number.NaN)
      if (declared > options.maxBytes) {
        await response.body.cancel()
        throw new PermanentJobError('file_too_large', 'File too large')
      }
      let size = 0
      for await (const chunk of response.body) {
        size += chunk.byteLength
        if (size > options.maxBytes) throw new PermanentJobError('file_too_large', 'File too large')
        await sink.write(chunk)
      }
      if (options.stillOwner && !(await options.stillOwner())) {
        throw new AppError('claim_lost', 'another transcoder took this job over')
      }
      await sink.commit()
      return size
    }
  } catch (error) {
    await sink.abort()
    if (error instanceof AppError) throw error
    if (signal.aborted && options.signal?.aborted) throw error
    if (signal.aborted)
      throw new AppError('download_failed', `Download failed: took longer than ${options.timeoutMs / 1000}s`)
    throw new AppError(
      'download_failed',
      `Download failed: ${(error as Error).cause ?? (error as Error).message}`,
    )
  }
}
