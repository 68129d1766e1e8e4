/**
 * Where uploads and renditions live. Handlers see only these runtime-neutral interfaces; the
 * implementations (local disk, S3) are in `@vpp/shared/node`.
 */
export interface UploadSink {
  /** Append a chunk; resolves when it is safely handed to storage (back-pressure). */
  write(chunk: Uint8Array): Promise<void>
  /** The upload is complete: make it visible under its final name. */
  commit(): Promise<void>
  /** Drop what this sink wrote (after commit: the committed file). Safe to call twice. */
  abort(): Promise<void>
}

export interface UploadStorage {
  /** Start storing the upload of job `id`. Nothing is visible under the final name until commit. */
  create(id: string): Promise<UploadSink>
  /**
   * Remove partial uploads nothing has written to for `idleMs` (left by an ingest that died
   * mid-upload); returns how many. Local disk only: in S3, incomplete multipart uploads are
   * the bucket's lifecycle rule's to expire.
   */
  sweepPartials?(idleMs: number): Promise<number>
  /**
   * Keep a small file whole under `name` (isAssetName), beside the uploads: a stored watermark
   * image (`watermark-wm_...png`), a job's own copy of one (jobAssetName). Replaced whole.
   */
  putAsset(name: string, bytes: Uint8Array): Promise<void>
  /** Asset `name`'s bytes; null when there is none. */
  readAsset(name: string): Promise<Uint8Array | null>
  /** Remove asset `name`, if there is one. */
  removeAsset(name: string): Promise<void>
}

/** The assets a job may own (jobAssetName), removed with its upload (removeUpload). */
export const JOB_ASSETS = ['watermark.png'] as const

/** Job `id`'s asset `name` (`{id}.watermark.png`): a job id has no dot, so no other name is one. */
export const jobAssetName = (id: string, name: (typeof JOB_ASSETS)[number]) => `${id}.${name}`

/** An asset's name: letters, digits and `._-`, starting with a letter or digit. */
export function isAssetName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name)
}

/** A rendition written to a local work directory, ready to publish. */
export interface OutputFile {
  /** `{profile}.{ext}`, the name it is published under. */
  name: string
  /** Where ffmpeg wrote it. */
  path: string
  contentType: string
}

/** Where a published rendition is: a file path (local) or an object key (S3), and a URL when there is one. */
export interface PublishedOutput {
  path: string
  url?: string
}

/** What the transcoder needs: the uploads, scratch space, and publishing of outputs. */
export interface MediaStorage extends UploadStorage {
  readonly backend: 'local' | 's3'
  /** Whether job `id`'s upload is stored (URL imports are downloaded once, then kept). */
  hasUpload(id: string): Promise<boolean>
  /**
   * A private directory for one attempt at job `jobId` (its renditions, and the input when it
   * must be copied near ffmpeg), or at one `task` of it (a chunk: `c00003`). Work directories of
   * earlier attempts of the same job and task are removed.
   */
  workDir(jobId: string, task?: string): Promise<string>
  /** A local path ffmpeg can read job `id`'s upload from: the stored file, or a copy in `workDir`. */
  localUpload(id: string, workDir: string): Promise<string>
  /**
   * Publish a job's renditions under `{jobId}/{name}`. Each appears whole or not at all (rename
   * on one filesystem; a single PUT in S3): readers never see a partial file. Once `signal` is
   * aborted (the job was lost to another worker) no further file is published: it throws the
   * signal's reason before the next one.
   */
  publish(jobId: string, files: OutputFile[], signal?: AbortSignal): Promise<PublishedOutput[]>
  /** Remove job `id`'s upload (once its renditions are published), and its assets (JOB_ASSETS). */
  removeUpload(id: string): Promise<void>
  /** A local path of asset `name`: where it is kept (local), or a copy in `dir` (S3). */
  localAsset(name: string, dir: string): Promise<string>
  /** The bytes of published file `name` of job `jobId`, or null when there is none. */
  readOutput(jobId: string, name: string): Promise<Uint8Array | null>
  /** Remove every published file of job `jobId` (the job was deleted). */
  removeOutputs(jobId: string): Promise<void>
  /** Whether job `jobId` has published file `name` (`renders/thumb-t0-w320.jpg`): a stat, or a HEAD. */
  hasOutput(jobId: string, name: string): Promise<boolean>
  /**
   * Where ffmpeg on this machine reads published file `name` of job `jobId`: its path (local), or
   * a GET presigned for `seconds` on the storage's own endpoint (S3).
   */
  outputSource(jobId: string, name: string, seconds: number): Promise<string>
  /** Remove the published files of job `jobId` under `folder` (`hls/720p`), if any. */
  removeOutputFolder(jobId: string, folder: string): Promise<void>
  /**
   * Keep a file a job's chunked encode passes between transcoders (a part of the source, a
   * chunk's rendition, the audio) under `name`, private to the pipeline: moved from `path`
   * (local disk) or PUT once (S3). Names are unique to the attempt that writes them.
   */
  putPiece(jobId: string, name: string, path: string): Promise<void>
  /** A local path of piece `name` of job `jobId`: where it is kept (local), or a copy in `dir` (S3). */
  localPiece(jobId: string, name: string, dir: string): Promise<string>
  /** Remove every piece of job `jobId` (its encode is assembled, or the job is deleted). */
  removePieces(jobId: string): Promise<void>
}

/**
 * An output's name inside its job's folder: relative segments of letters, digits and `._-`
 * (`720p.mp4`, `hls/720p/segment-000.m4s`), never `.` or `..`. What storage writes and what the
 * media route serves are both held to it.
 */
export function isOutputName(name: string): boolean {
  const parts = name.split('/')
  return (
    parts.length <= 8 &&
    parts.every((part) => /^[A-Za-z0-9_.-]{1,128}$/.test(part) && part !== '.' && part !== '..')
  )
}

/** Content types of everything a job publishes, by extension (storage writes them, status serves them). */
export const MEDIA_TYPES: Readonly<Record<string, string>> = {
  mp4: 'video/mp4',
  m4a: 'audio/mp4',
  webm: 'video/webm',
  jpg: 'image/jpeg',
  m3u8: 'application/vnd.apple.mpegurl',
  m4s: 'video/iso.segment',
  vtt: 'text/vtt',
  webp: 'image/webp',
}
