import { randomUUID } from 'node:crypto'
import { mkdir, open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  AppError,
  diskFull,
  errorMessage,
  isNoSpace,
  type MediaStorage,
  PermanentJobError,
} from '@vpp/shared'
import type { TranscoderConfig } from './config.ts'
import { encodersFor } from './ffmpeg-args/index.ts'
import { ProcessError, runProcess } from './ffmpeg-process.ts'

/**
 * What makes a transcoder sick rather than a job bad: every job would fail here the same way,
 * and would run on a healthy transcoder.
 */
export type InfraKind = 'disk_full' | 'storage_unavailable' | 'encoder_missing' | 'out_of_memory'

export interface InfraFailure {
  kind: InfraKind
  /** What /healthz and the logs say: `disk full: No space left on the output volume (OUTPUT_DIR)`. */
  reason: string
}

const LABELS: Record<InfraKind, string> = {
  disk_full: 'disk full',
  storage_unavailable: 'storage unavailable',
  encoder_missing: 'encoder missing',
  out_of_memory: 'out of memory',
}

const infra = (kind: InfraKind, detail: string): InfraFailure => ({
  kind,
  reason: `${LABELS[kind]}: ${detail}`,
})

/** The volumes a transcoder writes to, as a `disk_full` message names them: by their variable. */
export const VOLUMES = {
  upload: 'upload volume (UPLOAD_DIR)',
  output: 'output volume (OUTPUT_DIR)',
  scratch: 'scratch volume (DATA_DIR/work)',
} as const

/** Where ffmpeg writes: OUTPUT_DIR/.work with local storage (publishing is a rename), DATA_DIR/work with S3. */
export function scratchVolume(backend: MediaStorage['backend']): string {
  return backend === 'local' ? VOLUMES.output : VOLUMES.scratch
}

/** errno codes of a volume that cannot be written for a reason other than space. */
const BROKEN_VOLUME = new Set(['EIO', 'EROFS', 'ESTALE', 'ENOTCONN'])
/** Network failures of a storage request (S3): refused, reset, timed out, no route, no name. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
])

/** ffmpeg's words for a write that met a full disk (or a quota). */
const NO_SPACE_STDERR = /No space left on device|Disk quota exceeded/

/** Whether an ffmpeg run's stderr says it ran out of disk space. */
export function noSpaceIn(stderr: string): boolean {
  return NO_SPACE_STDERR.test(stderr)
}

/** `error` and what caused it, outermost first. */
function chain(error: unknown): unknown[] {
  const errors: unknown[] = []
  for (let at = error; at !== undefined && errors.length < 10; at = (at as Error).cause) {
    errors.push(at)
    if (!(at instanceof Error)) break
  }
  return errors
}

const errnoOf = (error: unknown) => String((error as { code?: unknown } | null)?.code ?? '')

/** An AWS SDK error of the server's making (5xx), or its request timing out. */
function serverFault(error: unknown): boolean {
  const e = error as { $fault?: string; $metadata?: { httpStatusCode?: number }; name?: string } | null
  const status = e?.$metadata?.httpStatusCode ?? 0
  return e?.$fault === 'server' || status >= 500 || e?.name === 'TimeoutError'
}

/**
 * Whether a failed attempt says the transcoder is sick, and how: a pure function of what was
 * thrown. Infrastructure failures are
 * - `disk_full`: an AppError `disk_full`, an errno ENOSPC/EDQUOT anywhere in the causes, or
 *   ffmpeg's stderr saying "No space left on device";
 * - `storage_unavailable`: an errno EIO/EROFS/ESTALE/ENOTCONN (the volume is broken or gone),
 *   ffmpeg's "Read-only file system", or a storage call (a `storage_error` AppError) that failed
 *   to connect or got a 5xx;
 * - `encoder_missing`: ffmpeg's "Unknown encoder 'x'" or "Encoder not found";
 * - `out_of_memory`: ffmpeg or ffprobe killed by SIGKILL that the transcoder did not send (its
 *   own kills, at the timeout or on cancel, are `timeout` and `aborted` runs).
 * Anything else (a bad input, a 4xx download, an ffmpeg that exits 1 on the input) is the job's
 * own: null. So are permanent errors, which no transcoder could get past.
 */
export function classifyFailure(error: unknown): InfraFailure | null {
  if (error instanceof PermanentJobError) return null
  const errors = chain(error)
  for (const e of errors) {
    if (e instanceof AppError && e.code === 'disk_full') return infra('disk_full', e.message)
  }
  if (errors.some(isNoSpace)) return infra('disk_full', 'No space left on device')
  const run = errors.find((e): e is ProcessError => e instanceof ProcessError)
  if (run) {
    const tool = run.message.split(' ')[0] ?? 'ffmpeg'
    if (noSpaceIn(run.stderr)) return infra('disk_full', 'No space left on device')
    const unknown = /Unknown encoder '([^']*)'/.exec(run.stderr)
    if (unknown) return infra('encoder_missing', `${tool} has no encoder ${unknown[1]} (Unknown encoder)`)
    const notFound = /[^\n]*Encoder (?:\S+ )?not found[^\n]*/.exec(run.stderr)
    if (notFound) return infra('encoder_missing', notFound[0].trim())
    if (run.reason === 'exit' && run.signal === 'SIGKILL') {
      return infra('out_of_memory', `${tool} was killed (SIGKILL) by the system: the OOM killer, most likely`)
    }
    if (/Read-only file system/.test(run.stderr)) return infra('storage_unavailable', 'Read-only file system')
  }
  for (const e of errors) {
    const code = errnoOf(e)
    if (BROKEN_VOLUME.has(code)) return infra('storage_unavailable', errorMessage(e))
  }
  const stored = errors.find((e): e is AppError => e instanceof AppError && e.code === 'storage_error')
  if (stored && errors.some((e) => UNREACHABLE.has(errnoOf(e)) || serverFault(e))) {
    return infra('storage_unavailable', stored.message)
  }
  return null
}

/**
 * A storage call's failure as a job records it: itself when it says already (an AppError),
 * `disk_full` when the volume is full (named by its variable), else `storage_error` with the
 * failure as its cause (so classifyFailure can tell an unreachable store from a missing file).
 */
export function storageFailure(error: unknown, volume: string): AppError {
  if (error instanceof AppError) return error
  if (isNoSpace(error)) return diskFull(volume, { cause: error })
  return new AppError('storage_error', `Storage failed: ${errorMessage(error)}`, 503, { cause: error })
}

/**
 * Consecutive infrastructure failures (SICK_AFTER_FAILURES of them with no success between make
 * the transcoder sick) and whether it is sick. Its probe, not a job, says when it is well again.
 */
export class Health {
  #failures = 0
  #sick: (InfraFailure & { since: Date }) | null = null

  constructor(readonly sickAfter: number) {}

  /** Why it is sick and since when; null while healthy. */
  get sick(): (InfraFailure & { since: Date }) | null {
    return this.#sick
  }

  /** Infrastructure failures in a row so far. */
  get failures(): number {
    return this.#failures
  }

  /** An attempt failed on `failure`. Returns `became` when this one made it sick, `sick` when it was already. */
  failed(failure: InfraFailure, now = new Date()): 'healthy' | 'became' | 'sick' {
    if (this.#sick) return 'sick'
    this.#failures++
    if (this.#failures < this.sickAfter) return 'healthy'
    this.#sick = { ...failure, since: now }
    return 'became'
  }

  /** An attempt succeeded: the count starts again (while sick, only the probe ends it). */
  succeeded(): void {
    if (!this.#sick) this.#failures = 0
  }

  /** The probe found something still wrong: the reason /healthz gives is now that. */
  stillSick(failure: InfraFailure): void {
    if (this.#sick) this.#sick = { ...failure, since: this.#sick.since }
  }

  /** The probe passed: healthy, counting from 0. */
  recovered(): void {
    this.#sick = null
    this.#failures = 0
  }
}

/** What the probe of a sick transcoder checks. */
export interface ProbeTargets {
  /** Local directories jobs write to, each with its volume's name for the reason. */
  dirs: Array<{ path: string; volume: string }>
  /** A request to the remote store (S3: HEAD in the bucket), when there is one. */
  ping?: () => Promise<void>
  ffmpeg: string
  /** Encoders the configured profiles need (encodersFor). */
  encoders: readonly string[]
}

/** What this transcoder's probe looks at: its work volume, the bucket (S3), ffmpeg's encoders. */
export function probeTargets(config: TranscoderConfig, storage: MediaStorage): ProbeTargets {
  const { ping } = storage as { ping?: () => Promise<void> }
  return {
    dirs: [
      storage.backend === 'local'
        ? { path: join(config.outputDir, '.work'), volume: VOLUMES.output }
        : { path: join(config.dataDir, 'work'), volume: VOLUMES.scratch },
    ],
    ping: storage.backend === 's3' && ping ? () => ping.call(storage) : undefined,
    ffmpeg: config.FFMPEG_PATH,
    encoders: encodersFor(config.profiles),
  }
}

/** The size of the file the probe writes (and syncs, and removes) in each directory. */
export const PROBE_BYTES = 256 * 1024

/**
 * Look again at what a job needs, as a sick transcoder does every SICK_RETRY_MS: room for a file
 * in each work volume (PROBE_BYTES written, synced, removed), the remote store answering, and
 * ffmpeg listing every encoder the profiles use. Returns what is still wrong, or null when all
 * is well. Memory has nothing to look at: after an out-of-memory kill this passes, and the
 * transcoder takes jobs again (and stands down again after SICK_AFTER_FAILURES more).
 */
export async function probeHealth(targets: ProbeTargets): Promise<InfraFailure | null> {
  for (const { path, volume } of targets.dirs) {
    const file = join(path, `.health-${randomUUID()}`)
    try {
      await mkdir(path, { recursive: true })
      const handle = await open(file, 'wx')
      try {
        await handle.writeFile(new Uint8Array(PROBE_BYTES))
        await handle.datasync()
      } finally {
        await handle.close()
      }
    } catch (error) {
      if (isNoSpace(error)) return infra('disk_full', diskFull(volume).message)
      return infra('storage_unavailable', `the ${volume} cannot be written (${errorMessage(error)})`)
    } finally {
      await rm(file, { force: true }).catch(() => {})
    }
  }
  if (targets.ping) {
    try {
      await targets.ping()
    } catch (error) {
      return infra('storage_unavailable', `the bucket does not answer (${errorMessage(error)})`)
    }
  }
  let listed: string
  try {
    listed = (await runProcess(targets.ffmpeg, ['-hide_banner', '-encoders'], { timeoutMs: 15_000 })).stdout
  } catch (error) {
    const why = error instanceof ProcessError ? error.message : errorMessage(error)
    return infra('encoder_missing', `ffmpeg -encoders failed (${why})`)
  }
  const present = new Set(encoderNames(listed))
  const missing = targets.encoders.filter((name) => !present.has(name))
  if (missing.length > 0) return infra('encoder_missing', `ffmpeg has no encoder ${missing.join(', ')}`)
  return null
}

/** The encoder names of `ffmpeg -encoders` (` V....D libx264  libx264 H.264 ...`). */
export function encoderNames(listing: string): string[] {
  const names: string[] = []
  for (const line of listing.split('\n')) {
    const match = /^\s*[VAS][F.][S.][X.][B.][D.]\s+(\S+)/.exec(line)
    if (match?.[1] && match[1] !== '=') names.push(match[1])
  }
  return names
}
