import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { PreviousUpload, UrlStorage } from '@vpp/client'

/** Entries older than this are dropped: ingest expires unfinished uploads long before (24 h by default). */
const KEEP_MS = 7 * 24 * 3600 * 1000

/**
 * Unfinished uploads remembered in a JSON file (`~/.local/state/vpp/uploads.json`), so that
 * running the same `vpp upload FILE` again resumes where the last run stopped: tus-js-client's
 * UrlStorage, keyed by its fingerprint of the file (path, size, mtime, endpoint). Written whole
 * to a temporary file and renamed, so a run killed mid-write leaves the last good copy.
 * (tus-js-client's own FileUrlStorage is not in its type declarations.)
 */
export class FileUrlStorage implements UrlStorage {
  constructor(readonly path: string) {}

  async findAllUploads(): Promise<PreviousUpload[]> {
    return this.#find('tus::')
  }

  async findUploadsByFingerprint(fingerprint: string): Promise<PreviousUpload[]> {
    return this.#find(`tus::${fingerprint}::`)
  }

  async removeUpload(urlStorageKey: string): Promise<void> {
    const data = await this.#read()
    if (!(urlStorageKey in data)) return
    delete data[urlStorageKey]
    await this.#write(data)
  }

  async addUpload(fingerprint: string, upload: PreviousUpload): Promise<string> {
    const key = `tus::${fingerprint}::${randomUUID()}`
    const data = await this.#read()
    const oldest = Date.now() - KEEP_MS
    for (const [name, entry] of Object.entries(data)) {
      if (!(Date.parse(entry.creationTime) > oldest)) delete data[name]
    }
    data[key] = upload
    await this.#write(data)
    return key
  }

  async #find(prefix: string): Promise<PreviousUpload[]> {
    const data = await this.#read()
    return Object.entries(data)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, upload]) => ({ ...upload, urlStorageKey: key }))
  }

  async #read(): Promise<Record<string, PreviousUpload>> {
    try {
      const data: unknown = JSON.parse(await readFile(this.path, 'utf8'))
      return typeof data === 'object' && data !== null ? (data as Record<string, PreviousUpload>) : {}
    } catch {
      return {} // none yet, or unreadable: start afresh rather than refuse to upload
    }
  }

  async #write(data: Record<string, PreviousUpload>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
    const temporary = `${this.path}.${process.pid}.tmp`
    await writeFile(temporary, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 })
    await rename(temporary, this.path)
  }
}
