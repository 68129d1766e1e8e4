import type { IncomingMessage } from 'node:http'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import {
  type AddressPolicy,
  AppError,
  ContentCheck,
  checkImportUrl,
  PermanentJobError,
  type UploadSink,
} from '@vpp/shared'
import { pinnedLookup } from '@vpp/shared/node'
import { storageFailure, VOLUMES } from './health.ts'

export interface DownloadOptions {
  maxBytes: number
  timeoutMs: number
  /** Which resolved addresses may be connected to (addressPolicy(URL_IMPORT_ALLOW_PRIVATE)). */
  allowed: AddressPolicy
  /** Host name -> addresses; the system resolver by default (tests pass their own). */
  resolve?: (hostname: string) => Promise<string[]>
  signal?: AbortSignal
  /** Asked before the download is moved into place: false when another worker took the job over. */
  stillOwner?: () => Promise<boolean>
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 5

const tooLarge = (max: number) =>
  new PermanentJobError('download_too_large', `Download is larger than MAX_FILE_SIZE (${max} bytes)`)

/**
 * Download a URL import into `sink`, refusing anything but the public internet: every hop
 * (at most 5 redirects) is checked by URL (http/https, no credentials, IP literals) and by every
 * address its host resolves to, and the connection is made to the address that was checked (the
 * lookup is done once, by us, so DNS rebinding cannot swap it). A size cap (declared and counted)
 * and a total time cap apply; the body is streamed, never held whole, and must start like a video
 * container (as uploads must).
 */
export async function download(url: string, sink: UploadSink, options: DownloadOptions): Promise<number> {
  // The store's failures are its own (a full UPLOAD_DIR is `disk_full`), not the download's.
  const stored = (step: Promise<void>) =>
    step.catch((error: unknown) => {
      throw storageFailure(error, VOLUMES.upload)
    })
  const signals = [AbortSignal.timeout(options.timeoutMs)]
  if (options.signal) signals.push(options.signal)
  const signal = AbortSignal.any(signals)
  let current = new URL(url)
  try {
    for (let hop = 0; ; hop++) {
      checkImportUrl(current, options.allowed)
      const response = await get(current, signal, pinnedLookup(options.allowed, options.resolve))
      const status = response.statusCode ?? 0
      if (REDIRECTS.has(status)) {
        response.destroy()
        const location = response.headers.location
        if (!location)
          throw new PermanentJobError('download_failed', `Download failed: HTTP ${status} without a Location`)
        if (hop >= MAX_REDIRECTS)
          throw new PermanentJobError('download_failed', 'Download failed: more than 5 redirects')
        current = new URL(location, current)
        continue
      }
      if (status < 200 || status > 299) {
        response.destroy()
        const message = `Download failed: HTTP ${status}`
        // 4xx will not change on a retry; 5xx may.
        throw status < 500
          ? new PermanentJobError('download_failed', message)
          : new AppError('download_failed', message)
      }
      const declared = Number(response.headers['content-length'] ?? Number.NaN)
      if (declared > options.maxBytes) {
        response.destroy()
        throw tooLarge(options.maxBytes)
      }
      const content = new ContentCheck()
      let size = 0
      for await (const chunk of response as AsyncIterable<Buffer>) {
        size += chunk.byteLength
        if (size > options.maxBytes) {
          response.destroy()
          throw tooLarge(options.maxBytes)
        }
        for (const part of content.push(chunk)) await stored(sink.write(part))
      }
      for (const part of content.end()) await stored(sink.write(part))
      if (options.stillOwner && !(await options.stillOwner())) {
        throw new AppError('claim_lost', 'another transcoder took this job over')
      }
      await stored(sink.commit())
      return size
    }
  } catch (error) {
    await sink.abort()
    if (error instanceof AppError) throw error
    // Stopped from outside (shutdown, lost claim): not the download's fault.
    if (options.signal?.aborted) throw error
    if (signal.aborted) {
      throw new PermanentJobError(
        'download_timeout',
        `Download took longer than URL_IMPORT_TIMEOUT (${options.timeoutMs / 1000}s)`,
      )
    }
    const cause = error as NodeJS.ErrnoException
    throw new AppError('download_failed', `Download failed: ${cause.code ?? cause.message}`)
  }
}

/** One GET, resolving with the response head; redirects are the caller's. */
function get(url: URL, signal: AbortSignal, lookup: LookupFunction): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'GET',
      signal,
      lookup,
      headers: { 'user-agent': 'video-pipeline-url-import', accept: '*/*' },
    })
    req.once('response', resolve)
    req.once('error', reject)
    req.end()
  })
}
