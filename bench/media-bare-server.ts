/**
 * The baseline of bench/http.ts's media row: a bare node:http server answering
 * `GET /media/{job_id}/{file}` from `<dir>/{job_id}/{file}` with fs.createReadStream, doing the
 * least a correct Range server does: stat the file, parse `Range: bytes=a-b` (and `a-`, `-n`) by
 * hand, answer 206 with Content-Range and Content-Length (416 outside the file), or 200 with
 * Content-Length without a Range. No ETag, no caching headers, no Redis lookup, no logging.
 *
 *   node --import tsx bench/media-bare-server.ts <port> <dir>
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { pipeline } from 'node:stream'

const [port, dir = '/tmp'] = process.argv.slice(2)

createServer(async (req, res) => {
  const path = (req.url ?? '').split('?')[0] ?? ''
  const info =
    path.startsWith('/media/') && !path.includes('..')
      ? await stat(join(dir, path.slice('/media/'.length))).catch(() => null)
      : null
  if (!info?.isFile()) return res.writeHead(404).end()
  const size = info.size
  let start = 0
  let end = size - 1
  let status = 200
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '')
  if (range) {
    const [, from = '', to = ''] = range
    if (from === '')
      start = Math.max(0, size - Number(to)) // bytes=-n: the last n bytes
    else {
      start = Number(from)
      if (to !== '') end = Math.min(Number(to), size - 1)
    }
    if (start > end || (from === '' && to === '')) {
      return res.writeHead(416, { 'content-range': `bytes */${size}` }).end()
    }
    status = 206
  }
  res.writeHead(status, {
    'content-type': 'video/mp4',
    'content-length': end - start + 1,
    'accept-ranges': 'bytes',
    ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  })
  if (req.method === 'HEAD') return res.end()
  // pipeline closes the file when the client goes away mid-body.
  pipeline(createReadStream(join(dir, path.slice('/media/'.length)), { start, end }), res, () => {})
}).listen(Number(port), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
