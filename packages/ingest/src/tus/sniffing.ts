import { type Readable, Transform } from 'node:stream'
import type { DataStore } from '@tus/utils'
import { ContentCheck, SNIFF_BYTES } from '@vpp/shared'
import { jsonError } from './answers.ts'
import type { TusStorage } from './storage.ts'

/**
 * The data store with the content check in front of its writes: the first SNIFF_BYTES of an
 * upload (stored ones read back when a PATCH resumes inside them) must start like a video
 * container; otherwise the write fails with 415 and the upload is removed.
 */
export function sniffing(storage: TusStorage): DataStore {
  const store = storage.datastore
  const write = store.write.bind(store)
  store.write = async (readable, id, offset) => {
    if (offset >= SNIFF_BYTES) return write(readable, id, offset)
    const check = new ContentCheck()
    if (offset > 0) check.push(await storage.storedHead(id, offset))
    let rejected = false
    const checked = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        try {
          for (const part of check.push(chunk)) this.push(part)
          done()
        } catch (error) {
          rejected = true
          done(error as Error)
        }
      },
      flush(done) {
        try {
          for (const part of check.end()) this.push(part)
          done()
        } catch (error) {
          rejected = true
          done(error as Error)
        }
      },
    })
    // The resumed head was stored already: only the new bytes go on.
    let skip = offset
    const fresh = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (skip >= chunk.byteLength) {
          skip -= chunk.byteLength
          return done()
        }
        done(null, chunk.subarray(skip))
        skip = 0
      },
    })
    // pipe() forwards no errors: each stage's failure ends the next, so the store's write fails.
    ;(readable as Readable).on('error', (error) => checked.destroy(error))
    checked.on('error', (error) => fresh.destroy(error))
    try {
      return await write((readable as Readable).pipe(checked).pipe(fresh), id, offset)
    } catch (error) {
      if (!rejected) throw error
      await store.remove(id).catch(() => {})
      throw jsonError(
        415,
        'invalid_file_type',
        'Unsupported file type: expected an mp4, mov, avi, mkv or webm video',
      )
    }
  }
  return store
}
