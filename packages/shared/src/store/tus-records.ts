import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'

/**
 * A resumable (tus) upload's record while it is being sent: who owns it (an API key's id, or
 * `''`), its file name, its job options (JSON text) and its Idempotency-Key scope (or `''`).
 */
export interface PendingUpload {
  owner: string
  filename: string
  options: string
  idempotency: string
}

/** What the routes of an existing upload check first: its owner, and whether it is a job now. */
export interface UploadState {
  /** null: no such upload (never created, expired, or abandoned). */
  owner: string | null
  /** The last byte is stored and the job exists. */
  done: boolean
  /** The finished upload's size in bytes, as text (set with `done`). */
  size: string | null
}

/** A release request on `keys.tusReleaseChannel`: `by` (a lock's id) wants upload `id`'s lock. */
export interface ReleaseRequest {
  id: string
  by: string
}

/** How long a finished upload still answers HEAD (as complete). */
export const TUS_DONE_TTL_SECONDS = 24 * 3600
/** How long an Idempotency-Key answers its first upload again (as a job's key does). */
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600

/**
 * The tus uploads' bookkeeping in Redis: `keys.tusUpload(id)` holds a pending upload until it
 * becomes a job, then `done` and `size` for a day, so a client that asks again learns it is
 * complete; `keys.idempotency('tus:' + scope)` names the upload first created under a key; and
 * `keys.tusReleaseChannel` carries the locks' release requests between replicas.
 */
export class TusRecords {
  constructor(
    readonly redis: RedisCalls,
    readonly keys: RedisKeys,
  ) {}

  /**
   * Record a new upload, kept `ttlSeconds` (past the upload's own expiry), and, under an
   * Idempotency-Key scope, the upload as that key's for a day. One MULTI.
   */
  async create(id: string, pending: PendingUpload, ttlSeconds: number): Promise<void> {
    const key = this.keys.tusUpload(id)
    const multi = this.redis.client
      .multi()
      .hSet(key, { ...pending })
      .expire(key, ttlSeconds)
    if (pending.idempotency) {
      multi.set(this.#idempotencyKey(pending.idempotency), id, { EX: IDEMPOTENCY_TTL_SECONDS })
    }
    await this.redis.call(multi.exec())
  }

  /** The upload's record as created (fields missing when it is gone). */
  async pending(id: string): Promise<Partial<PendingUpload>> {
    return this.redis.call(this.redis.client.hGetAll(this.keys.tusUpload(id)))
  }

  /** The upload is a job now: marked done with its size, kept TUS_DONE_TTL_SECONDS. One MULTI. */
  async finished(id: string, size: number): Promise<void> {
    const key = this.keys.tusUpload(id)
    await this.redis.call(
      this.redis.client
        .multi()
        .hSet(key, { done: '1', size: String(size) })
        .expire(key, TUS_DONE_TTL_SECONDS)
        .exec(),
    )
  }

  async state(id: string): Promise<UploadState> {
    const [owner, done, size] = await this.redis.call(
      this.redis.client.hmGet(this.keys.tusUpload(id), ['owner', 'done', 'size']),
    )
    return { owner: owner ?? null, done: Boolean(done), size: size ?? null }
  }

  /** The upload was abandoned (tus termination): its record goes. */
  async remove(id: string): Promise<void> {
    await this.redis.call(this.redis.client.del(this.keys.tusUpload(id)))
  }

  /** The id of the upload created under Idempotency-Key `scope` in the last day, or null. */
  async idempotentUpload(scope: string): Promise<string | null> {
    return this.redis.call(this.redis.client.get(this.#idempotencyKey(scope)))
  }

  /** Ask whoever holds upload `request.id`'s lock, on any replica, to let it go. */
  async askRelease(request: ReleaseRequest): Promise<number> {
    return this.redis.call(this.redis.client.publish(this.keys.tusReleaseChannel, JSON.stringify(request)))
  }

  /** A tus upload's Idempotency-Key, apart from the jobs' (`tus:` before the client's scope). */
  #idempotencyKey(scope: string): string {
    return this.keys.idempotency(`tus:${scope}`)
  }
}
