import { randomUUID } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { UploadSink, UploadStorage } from '../storage.ts'

/**
 * Uploads on local disk: written to `<dir>/<id>.<random>.part`, renamed to `<dir>/<id>` on
 * commit, so a reader never sees a partial file under the final name. The client's filename is
 * never used.
 */
export class LocalUploadStorage implements UploadStorage {
  constructor(readonly dir: string) {}

  /** The final path of job `id`'s upload. */
  path(id: string): string {
    return join(this.dir, id)
  }

  /** Remove job `id`'s upload (once its renditions are published). */
  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true })
  }

  async create(id: string): Promise<UploadSink> {
    if (!/^[A-Za-z0-9-]+$/.test(id)) throw new Error(`invalid upload id ${JSON.stringify(id)}`)
    await mkdir(this.dir, { recursive: true })
    const finalPath = this.path(id)
    // Each writer its own part file: a stale attempt of the same job never writes into, or
    // removes, the current one's.
    const partPath = `${finalPath}.${randomUUID()}.part`
    const file = await open(partPath, 'wx')
    let closed = false
    let committed = false
    const close = async () => {
      if (closed) return
      closed = true
      await file.close()
    }
    return {
      async write(chunk) {
        let offset = 0
        while (offset < chunk.byteLength) {
          const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset)
          offset += bytesWritten
        }
      },
      async commit() {
        await file.sync()
        await close()
        await rename(partPath, finalPath)
        committed = true
      },
      async abort() {
        await close().catch(() => {})
        await rm(partPath, { force: true })
        if (committed) await rm(finalPath, { force: true })
      },
    }
  }
}
