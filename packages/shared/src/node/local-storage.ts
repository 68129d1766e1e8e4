import { randomUUID } from 'node:crypto'
import {
  access,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { AppError } from '../api/errors.ts'
import { JOB_ID_PATTERN } from '../api/job.ts'
import {
  isAssetName,
  isOutputName,
  JOB_ASSETS,
  jobAssetName,
  type MediaStorage,
  type OutputFile,
  type PublishedOutput,
  type UploadSink,
  type UploadStorage,
} from '../storage/storage.ts'

/** Bytes gathered before one write to the upload file. */
const WRITE_BATCH_BYTES = 1024 * 1024

/** Job ids name files and keys: letters, digits and dashes only. */
export function checkId(id: string): string {
  if (!JOB_ID_PATTERN.test(id)) throw new Error(`invalid job id ${JSON.stringify(id)}`)
  return id
}

/** An asset name (see isAssetName), or an error. */
export function checkAsset(name: string): string {
  if (!isAssetName(name)) throw new Error(`invalid asset name ${JSON.stringify(name)}`)
  return name
}

/** An output name (see isOutputName), or an error. */
export function checkName(name: string): string {
  if (!isOutputName(name)) throw new Error(`invalid output name ${JSON.stringify(name)}`)
  return name
}

/**
 * Uploads on local disk: written to `<dir>/<id>.<random>.part`, renamed to `<dir>/<id>` on
 * commit, so a reader never sees a partial file under the final name. The client's filename is
 * never used.
 */
export class LocalUploadStorage implements UploadStorage {
  constructor(readonly dir: string) {}

  /** The final path of job `id`'s upload. */
  path(id: string): string {
    return join(this.dir, checkId(id))
  }

  async sweepPartials(idleMs: number): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[])
    let removed = 0
    for (const name of names) {
      if (!name.endsWith('.part')) continue
      const path = join(this.dir, name)
      // Another replica's upload in progress writes at least every UPLOAD_IDLE_TIMEOUT_MS.
      const info = await stat(path).catch(() => null)
      if (!info || Date.now() - info.mtimeMs < idleMs) continue
      await rm(path, { force: true })
      removed++
    }
    return removed
  }

  /** UPLOAD_DIR/.assets/{name}: a dot, so never a job id's name. */
  assetPath(name: string): string {
    return join(this.dir, '.assets', checkAsset(name))
  }

  async putAsset(name: string, bytes: Uint8Array): Promise<void> {
    const path = this.assetPath(name)
    await mkdir(dirname(path), { recursive: true })
    // Whole or not at all: written aside, then renamed.
    const part = `${path}.${randomUUID()}.part`
    await writeFile(part, bytes)
    await rename(part, path)
  }

  async readAsset(name: string): Promise<Uint8Array | null> {
    return readFile(this.assetPath(name)).then(
      (data) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null
        throw error
      },
    )
  }

  async removeAsset(name: string): Promise<void> {
    await rm(this.assetPath(name), { force: true })
  }

  async create(id: string): Promise<UploadSink> {
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
    // Chunks from the network are small (16-64 KiB): gather about 1 MiB, then one writev. One
    // batch is written while the next is gathered, so reading and writing overlap.
    let held: Uint8Array[] = []
    let heldBytes = 0
    let writing: Promise<void> | undefined
    let failure: unknown
    const writeAll = async (buffers: Uint8Array[]) => {
      while (buffers.length > 0) {
        let { bytesWritten } = await file.writev(buffers)
        // A short write: drop what was written and write the rest.
        while (bytesWritten > 0 && buffers.length > 0) {
          const first = buffers[0] as Uint8Array
          if (bytesWritten >= first.byteLength) {
            bytesWritten -= first.byteLength
            buffers = buffers.slice(1)
          } else {
            buffers = [first.subarray(bytesWritten), ...buffers.slice(1)]
            bytesWritten = 0
          }
        }
      }
    }
    const flush = async () => {
      if (writing) await writing
      if (failure) throw failure
      const buffers = held
      held = []
      heldBytes = 0
      writing = writeAll(buffers).then(
        () => {
          writing = undefined
        },
        (error: unknown) => {
          failure = error
          writing = undefined
        },
      )
    }
    return {
      async write(chunk) {
        if (failure) throw failure
        held.push(chunk)
        heldBytes += chunk.byteLength
        if (heldBytes >= WRITE_BATCH_BYTES) await flush()
      },
      async commit() {
        await flush()
        await writing
        if (failure) throw failure
        // On disk before anyone is told the upload was accepted.
        await file.datasync()
        await close()
        await rename(partPath, finalPath)
        committed = true
      },
      async abort() {
        await writing
        await close().catch(() => {})
        await rm(partPath, { force: true })
        if (committed) await rm(finalPath, { force: true })
      },
    }
  }
}

/**
 * Local disk (STORAGE_BACKEND=local): uploads in UPLOAD_DIR, renditions in
 * OUTPUT_DIR/{job_id}/.
 */
export class LocalStorage extends LocalUploadStorage implements MediaStorage {
  readonly backend = 'local'

  constructor(
    uploadDir: string,
    readonly outputDir: string,
  ) {
    super(uploadDir)
  }

  async hasUpload(id: string): Promise<boolean> {
    return access(this.path(id)).then(
      () => true,
      () => false,
    )
  }

  async workDir(jobId: string, task = 'job'): Promise<string> {
    // In OUTPUT_DIR/.work, so publishing is a rename on one filesystem, and a job that fails
    // leaves no directory of its own behind.
    const work = join(this.outputDir, '.work')
    await mkdir(work, { recursive: true })
    // Left by earlier attempts of the job that died (SIGKILL, power loss): the caller holds the
    // job's lease now, so nothing else writes there.
    const prefix = `${checkId(jobId)}.${checkName(task)}.`
    for (const name of await readdir(work)) {
      if (name.startsWith(prefix)) await rm(join(work, name), { recursive: true, force: true })
    }
    return mkdtemp(join(work, prefix))
  }

  async localUpload(id: string): Promise<string> {
    return this.path(id)
  }

  async publish(jobId: string, files: OutputFile[], signal?: AbortSignal): Promise<PublishedOutput[]> {
    const jobDir = join(this.outputDir, checkId(jobId))
    await mkdir(jobDir, { recursive: true })
    const published: PublishedOutput[] = []
    // Same paths on every attempt, each file replaced whole.
    for (const file of files) {
      signal?.throwIfAborted()
      const path = join(jobDir, checkName(file.name))
      await mkdir(dirname(path), { recursive: true })
      await rename(file.path, path)
      published.push({ path })
    }
    return published
  }

  async readOutput(jobId: string, name: string): Promise<Uint8Array | null> {
    return readFile(join(this.outputDir, checkId(jobId), checkName(name))).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null
        throw error
      },
    )
  }

  async removeOutputs(jobId: string): Promise<void> {
    await rm(join(this.outputDir, checkId(jobId)), { recursive: true, force: true })
  }

  async hasOutput(jobId: string, name: string): Promise<boolean> {
    return access(join(this.outputDir, checkId(jobId), checkName(name))).then(
      () => true,
      () => false,
    )
  }

  async outputSource(jobId: string, name: string): Promise<string> {
    return join(this.outputDir, checkId(jobId), checkName(name))
  }

  async removeOutputFolder(jobId: string, folder: string): Promise<void> {
    await rm(join(this.outputDir, checkId(jobId), checkName(folder)), { recursive: true, force: true })
  }

  /** OUTPUT_DIR/.pieces/{job_id}/: one filesystem with the work directories (a rename each way). */
  #pieces(jobId: string): string {
    return join(this.outputDir, '.pieces', checkId(jobId))
  }

  async putPiece(jobId: string, name: string, path: string): Promise<void> {
    const dir = this.#pieces(jobId)
    await mkdir(dir, { recursive: true })
    await rename(path, join(dir, checkName(name)))
  }

  async localPiece(jobId: string, name: string): Promise<string> {
    const path = join(this.#pieces(jobId), checkName(name))
    await access(path).catch((error: NodeJS.ErrnoException) => {
      throw new AppError('storage_error', `Piece ${name} of job ${jobId} is missing (${error.code})`)
    })
    return path
  }

  async removePieces(jobId: string): Promise<void> {
    await rm(this.#pieces(jobId), { recursive: true, force: true })
  }

  async localAsset(name: string): Promise<string> {
    const path = this.assetPath(name)
    await access(path).catch((error: NodeJS.ErrnoException) => {
      throw new AppError('storage_error', `Asset ${name} is missing (${error.code})`)
    })
    return path
  }

  async removeUpload(id: string): Promise<void> {
    // unlink, not rm: one system call (rm's lstat first showed up in the queue benchmark).
    const remove = (path: string) =>
      unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      })
    await Promise.all([
      remove(this.path(id)),
      ...JOB_ASSETS.map((name) => remove(this.assetPath(jobAssetName(checkId(id), name)))),
    ])
  }
}
