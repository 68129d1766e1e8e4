/**
 * The baseline of bench/upload.ts: a bare node:http server that pipes each request body to a file
 * (no multipart parsing, no checks, no Redis) and answers 202; with `sync`, it also flushes the
 * file to disk (fsync) before answering, as ingest does.
 *
 *   node --import tsx bench/upload-bare-server.ts <port> <dir> [sync]
 */
import { createWriteStream } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'

const [port, dir, sync] = process.argv.slice(2)
let n = 0
createServer(async (req, res) => {
  if (req.method !== 'POST') return res.writeHead(200).end('ok')
  // flush: the file is fsynced before it is closed.
  await pipeline(req, createWriteStream(join(dir ?? '/tmp', `upload-${++n}`), { flush: sync === 'sync' }))
  res.writeHead(202).end('{}')
}).listen(Number(port), '127.0.0.1')
