import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AppError, isOutputName, type MediaStorage, type OutputFile, type PublishedOutput } from '@vpp/shared'

/**
 * What status may write into a job's published folder, and nothing else: its caption tracks
 * (`captions/…`), its on-demand renders (`renders/…`) and the HLS master that lists the captions
 * (`hls/master.m3u8`). Everything else a job has is the transcoder's. All of it is under the
 * job's folder, so deleting or expiring the job removes these too.
 */
export class JobFiles {
  constructor(readonly storage: MediaStorage) {}

  /**
   * A private scratch folder for one piece of work on job `jobId` (`task`: `render-…`,
   * `captions`); its caller removes it. With local storage, OUTPUT_DIR/.work (publishing is a
   * rename on one filesystem); with S3, the system's temporary folder (status's only writable
   * place in Kubernetes: `/tmp`, an emptyDir).
   */
  workDir(jobId: string, task: string): Promise<string> {
    // Named apart per call: two status processes may work on the same render at once, and
    // storage clears a task's earlier folders when it makes a new one.
    const once = `status-${task}-${crypto.randomUUID().slice(0, 8)}`
    if (this.storage.backend === 'local') return this.storage.workDir(jobId, once)
    return mkdtemp(join(tmpdir(), 'vpp-status-'))
  }

  /** Publish `files` under the job's folder: each appears whole or not at all. */
  publish(jobId: string, files: OutputFile[]): Promise<PublishedOutput[]> {
    for (const file of files) writable(file.name)
    return this.storage.publish(jobId, files)
  }

  /** Whether the job has published file `name` (a render already made, or its top rendition). */
  has(jobId: string, name: string): Promise<boolean> {
    return this.storage.hasOutput(jobId, name)
  }

  /** Where ffmpeg here reads published file `name`: a path, or a GET presigned for `seconds` (S3). */
  source(jobId: string, name: string, seconds: number): Promise<string> {
    return this.storage.outputSource(jobId, name, seconds)
  }

  /** Publish texts (`files`: name, text, content type) under the job's folder, each whole, through a work directory. */
  async publishText(
    jobId: string,
    task: string,
    files: Array<{ name: string; text: string; contentType: string }>,
  ): Promise<void> {
    const work = await this.workDir(jobId, task)
    try {
      const out = await Promise.all(
        files.map(async (file, i) => {
          const path = join(work, `${i}-${file.name.split('/').pop()}`)
          await writeFile(path, file.text)
          return { name: file.name, path, contentType: file.contentType }
        }),
      )
      await this.publish(jobId, out)
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  }

  /** A published file of the job (any of them: status reads what the transcoder wrote), or null. */
  read(jobId: string, name: string): Promise<Uint8Array | null> {
    return this.storage.readOutput(jobId, name)
  }

  /** Remove a folder status wrote (`captions/{caption_id}`), if it is there. */
  removeFolder(jobId: string, folder: string): Promise<void> {
    if (folder === 'hls/master.m3u8') throw new AppError('internal', 'the master is replaced, never removed')
    writable(folder)
    return this.storage.removeOutputFolder(jobId, folder)
  }
}

/** Names status may write: under captions/ or renders/, or the master itself. */
export function isStatusWritable(name: string): boolean {
  if (!isOutputName(name)) return false
  return name === 'hls/master.m3u8' || /^(captions|renders)\/./.test(name)
}

function writable(name: string): void {
  if (!isStatusWritable(name)) throw new AppError('internal', `status does not write ${name}`)
}
