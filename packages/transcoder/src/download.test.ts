import { open } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type AppError, PermanentJobError, type UploadSink } from '@vpp/shared'
import { LocalUploadStorage } from '@vpp/shared/node'
import { mp4Bytes, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DownloadOptions, download } from './download.ts'

/**
 * Real HTTP servers on loopback. 127.0.0.2 plays "the internet" (the only address the test policy
 * allows); 127.0.0.1 plays the internal service an attacker wants to reach. The test resolver
 * gives made-up names their addresses, so no real DNS is involved.
 */
const PUBLIC = '127.0.0.2'
const allowed = (address: string) => address === PUBLIC
const video = mp4Bytes(64 * 1024)
let publicServer: Server
let internalServer: Server
let internalHits = 0
let base = ''
let internalPort = 0
let dir: Awaited<ReturnType<typeof tempDir>>
let storage: LocalUploadStorage

const listen = (server: Server, host: string) =>
  new Promise<number>((resolve) =>
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port)),
  )

beforeAll(async () => {
  dir = await tempDir()
  storage = new LocalUploadStorage(dir.path)
  internalServer = createServer((_req, res) => {
    internalHits++
    res.end('root:x:0:0:secret')
  })
  internalPort = await listen(internalServer, '127.0.0.1')
  publicServer = createServer((req, res) => {
    const port = (publicServer.address() as AddressInfo).port
    const routes: Record<string, () => void> = {
      '/clip.mp4': () => res.writeHead(200, { 'content-type': 'video/mp4' }).end(video),
      '/moved': () => res.writeHead(301, { location: `http://media.test:${port}/clip.mp4` }).end(),
      '/to-loopback': () => res.writeHead(302, { location: `http://127.0.0.1:${internalPort}/admin` }).end(),
      '/to-internal-name': () =>
        res.writeHead(307, { location: `http://internal.test:${internalPort}/` }).end(),
      '/to-file': () => res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
      '/loop': () => res.writeHead(302, { location: '/loop' }).end(),
      '/missing.mp4': () => res.writeHead(404).end(),
      '/busy.mp4': () => res.writeHead(503).end(),
      '/page.mp4': () => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>hi'),
      '/liar.mp4': () => res.writeHead(200, { 'content-length': String(10 ** 12) }).end(),
      '/endless.mp4': () => {
        res.writeHead(200)
        res.write(video)
        const chunk = Buffer.alloc(64 * 1024, 7)
        const pump = () => {
          while (res.write(chunk)) {}
          res.once('drain', pump)
        }
        pump()
        req.on('close', () => res.destroy())
      },
      '/drip.mp4': () => {
        res.writeHead(200)
        res.write(video.subarray(0, 16))
        const timer = setInterval(() => res.write('x'), 100)
        req.on('close', () => clearInterval(timer))
      },
    }
    const route = routes[req.url ?? '']
    if (route) route()
    else res.writeHead(404).end()
  })
  const port = await listen(publicServer, PUBLIC)
  base = `http://media.test:${port}`
})

afterAll(async () => {
  publicServer.closeAllConnections()
  await new Promise((resolve) => publicServer.close(resolve))
  await new Promise((resolve) => internalServer.close(resolve))
  await dir.remove()
})

const names: Record<string, string[]> = {
  'media.test': [PUBLIC],
  'internal.test': ['127.0.0.1'],
  'rebind.test': [PUBLIC, '127.0.0.1'],
}
let lookups: string[] = []
const options = (extra: Partial<DownloadOptions> = {}): DownloadOptions => ({
  maxBytes: 1024 * 1024,
  timeoutMs: 10_000,
  allowed,
  resolve: async (host) => {
    lookups.push(host)
    const addresses = names[host]
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    return addresses
  },
  ...extra,
})
let jobs = 0
const fetchInto = async (url: string, extra: Partial<DownloadOptions> = {}) => {
  const id = `job-${++jobs}`
  lookups = []
  const size = await download(url, await storage.create(id), options(extra))
  return { id, size }
}
/** The download fails with `code`; nothing is left in storage. */
async function refused(url: string, code: string, extra: Partial<DownloadOptions> = {}) {
  const error = await fetchInto(url, extra).then(
    () => expect.unreachable(`${url} was downloaded`),
    (e: unknown) => e,
  )
  expect(error, url).toMatchObject({ code })
  expect(await import('node:fs/promises').then((fs) => fs.readdir(dir.path))).not.toContainEqual(
    expect.stringMatching(/\.part$/),
  )
  return error as AppError
}

describe('download', () => {
  it('fetches a public URL through a redirect, connecting to the address it checked', async () => {
    const { id, size } = await fetchInto(`${base}/moved`)
    expect(size).toBe(video.length)
    const { readFile } = await import('node:fs/promises')
    expect(new Uint8Array(await readFile(storage.path(id)))).toEqual(video)
    // One lookup a hop, by us: media.test exists only in the test resolver, so the socket went
    // to the address that was checked, not to a second resolution.
    expect(lookups).toEqual(['media.test', 'media.test'])
  })

  it('fails into a full disk as disk_full, naming the upload volume, and aborts the sink', async () => {
    // /dev/full: every write gets the kernel's ENOSPC.
    const file = await open('/dev/full', 'w')
    let aborted = false
    const full: UploadSink = {
      write: async (chunk) => {
        await file.write(chunk)
      },
      commit: async () => {},
      abort: async () => {
        aborted = true
        await file.close()
      },
    }
    const error = await download(`${base}/clip.mp4`, full, options()).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'disk_full',
      status: 507,
      message: 'No space left on the upload volume (UPLOAD_DIR)',
    })
    expect((error as Error).cause).toMatchObject({ code: 'ENOSPC' })
    expect(aborted).toBe(true)
  })

  it('refuses a redirect to 127.0.0.1 without ever connecting to it', async () => {
    const error = await refused(`${base}/to-loopback`, 'url_not_allowed')
    expect(error).toBeInstanceOf(PermanentJobError)
    expect(error.message).toBe('127.0.0.1 is not a public address')
    expect(internalHits).toBe(0)
  })

  it('refuses host names that resolve to a private address, even one among public ones', async () => {
    const internal = await refused(`http://internal.test:${internalPort}/`, 'url_not_allowed')
    expect(internal.message).toBe('internal.test resolves to 127.0.0.1, which is not a public address')
    await refused(`${base}/to-internal-name`, 'url_not_allowed')
    const rebind = await refused(`http://rebind.test:${internalPort}/`, 'url_not_allowed')
    expect(rebind.message).toContain('rebind.test resolves to 127.0.0.1')
    expect(internalHits).toBe(0)
  })

  it('refuses non-http redirects and more than 5 redirects', async () => {
    const file = await refused(`${base}/to-file`, 'url_not_allowed')
    expect(file.message).toBe('Only http:// and https:// URLs can be imported, not file:')
    const loop = await refused(`${base}/loop`, 'download_failed')
    expect(loop).toBeInstanceOf(PermanentJobError)
    expect(loop.message).toBe('Download failed: more than 5 redirects')
  })

  it('stops an endless body at MAX_FILE_SIZE, and refuses a declared size over it unread', async () => {
    const endless = await refused(`${base}/endless.mp4`, 'download_too_large')
    expect(endless).toBeInstanceOf(PermanentJobError)
    expect(endless.message).toBe('Download is larger than MAX_FILE_SIZE (1048576 bytes)')
    await refused(`${base}/liar.mp4`, 'download_too_large')
  })

  it('gives up on a slow drip at the total time cap', async () => {
    const started = Date.now()
    const drip = await refused(`${base}/drip.mp4`, 'download_timeout', { timeoutMs: 800 })
    expect(drip.message).toBe('Download took longer than URL_IMPORT_TIMEOUT (0.8s)')
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('fails a 404 for good, a 503 for a retry, and a body that is no video as invalid_file_type', async () => {
    const missing = await refused(`${base}/missing.mp4`, 'download_failed')
    expect(missing).toBeInstanceOf(PermanentJobError)
    expect(missing.message).toBe('Download failed: HTTP 404')
    const busy = await refused(`${base}/busy.mp4`, 'download_failed')
    expect(busy).not.toBeInstanceOf(PermanentJobError)
    await refused(`${base}/page.mp4`, 'invalid_file_type')
    const unknown = await refused('http://nowhere.test/a.mp4', 'download_failed')
    expect(unknown.message).toBe('Download failed: ENOTFOUND')
  })
})
