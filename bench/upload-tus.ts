/**
 * The clients of bench/upload.ts's tus-vs-multipart rows, both streaming one source file from
 * disk (never held in memory): a multipart `POST /upload` and a tus upload with tus-js-client
 * (`POST /uploads`, then PATCHes of `chunkSize` bytes). And what the rows need around them: the
 * source file, and a per-round peak resident set.
 */
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { open, readdir, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { MP4_HEAD } from '@vpp/shared/testing'
import { Upload } from 'tus-js-client'

const MiB = 1024 ** 2

/** Write `size` bytes to `path`: an MP4 head (the content check sniffs it), then filler. */
export async function writeSource(path: string, size: number): Promise<void> {
  const out = createWriteStream(path)
  const chunk = Buffer.alloc(MiB, 0x5a)
  for (let sent = 0; sent < size; sent += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, size - sent))
    if (sent === 0) part.set(MP4_HEAD)
    if (!out.write(part)) await once(out, 'drain')
  }
  out.end()
  await finished(out)
}

/** Stream `file` (`size` bytes) as one multipart `POST /upload` to `port`; resolves with the status. */
export function multipartFile(port: number, file: string, size: number): Promise<number> {
  const head = Buffer.from(
    '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n',
  )
  const tail = Buffer.from('\r\n--b0undary--\r\n')
  return new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/upload',
        headers: {
          'content-type': 'multipart/form-data; boundary=b0undary',
          'content-length': head.length + size + tail.length,
        },
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('error', reject)
    req.write(head)
    const body = createReadStream(file)
    body.on('error', reject)
    body.on('end', () => req.end(tail))
    body.pipe(req, { end: false })
  })
}

/**
 * Upload `file` to the tus endpoint with tus-js-client: given an fs.ReadStream with a path, it
 * opens a fresh read stream of each chunk's range and pipes it into the PATCH, so nothing but
 * stream buffers is held. No retries: a failed request fails the run. Resolves with the PATCH count.
 */
export function tusFile(endpoint: string, file: string, chunkSize: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let patches = 0
    const upload = new Upload(createReadStream(file) as unknown as Buffer, {
      endpoint,
      chunkSize,
      metadata: { filename: 'big.mp4' },
      retryDelays: [],
      storeFingerprintForResuming: false,
      onChunkComplete: () => {
        patches++
      },
      onError: reject,
      onSuccess: () => resolve(patches),
    })
    upload.start()
  })
}

/** Reset process `pid`'s peak resident set (VmHWM) to its current one (Linux: clear_refs 5). */
export const resetPeak = (pid: number) => writeFile(`/proc/${pid}/clear_refs`, '5')

/** Remove every file in `dir` (the ingest's finished uploads between rounds). */
export async function emptyDir(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [])
  await Promise.all(names.map((name) => rm(join(dir, name), { recursive: true, force: true })))
}

/**
 * Flush every file in `dir` to disk (fdatasync): what a tus upload's answer leaves in the page
 * cache (@tus/file-store does not sync; a multipart upload is synced before its 202).
 */
export async function syncDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const file = await open(join(dir, name), 'r')
    try {
      await file.datasync()
    } finally {
      await file.close()
    }
  }
}
