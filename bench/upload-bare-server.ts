/**
 * The baseline of bench/upload.ts: a bare node:http server that pipes each request body to a file
 * (no multipart parsing, no checks, no Redis) and answers 202.
 *
 *   node bench/upload-bare-server.ts <port> <dir>   (plain JavaScript-compatible TypeScript)
 */
import { createWriteStream } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'

const [port, dir] = process.argv.slice(2)
let n = 0
createServer(async (req, res) => {
  if (req.method !== 'POST') return res.writeHead(200).end('ok')
  await pipeline(req, createWriteStream(join(dir ?? '/tmp', `upload-${++n}`)))
  res.writeHead(202).end('{}')
}).listen(Number(port), '127.0.0.1')
