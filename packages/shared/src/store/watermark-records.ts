import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'

/** A stored watermark image's record: who owns it (an API key's id, or `''`), and the image. */
export interface WatermarkRecord {
  owner: string
  width: number
  height: number
  size_bytes: number
  created_at: string
}

/**
 * The stored watermark images' bookkeeping (the images themselves are storage assets):
 * `keys.watermark(id)` holds each one's record, `keys.watermarkDefault(owner)` the id of an
 * owner's default. A default whose record is gone (deleted) is no default.
 */
export class WatermarkRecords {
  constructor(
    readonly redis: RedisCalls,
    readonly keys: RedisKeys,
  ) {}

  /** Record image `id`, and make it its owner's default when `asDefault`. One MULTI. */
  async create(id: string, record: WatermarkRecord, asDefault: boolean): Promise<void> {
    const multi = this.redis.client.multi().hSet(this.keys.watermark(id), {
      owner: record.owner,
      width: String(record.width),
      height: String(record.height),
      size_bytes: String(record.size_bytes),
      created_at: record.created_at,
    })
    if (asDefault) multi.set(this.keys.watermarkDefault(record.owner), id)
    await this.redis.call(multi.exec())
  }

  /** Image `id`'s record, when `owner` owns it (another owner's is as good as none). */
  async get(id: string, owner: string): Promise<WatermarkRecord | null> {
    const hash = await this.redis.call(this.redis.client.hGetAll(this.keys.watermark(id)))
    if (hash.owner === undefined || hash.owner !== owner) return null
    return {
      owner: hash.owner,
      width: Number(hash.width),
      height: Number(hash.height),
      size_bytes: Number(hash.size_bytes),
      created_at: hash.created_at ?? '',
    }
  }

  /** The id of `owner`'s default image, or null. */
  async defaultOf(owner: string): Promise<string | null> {
    return this.redis.call(this.redis.client.get(this.keys.watermarkDefault(owner)))
  }

  /** Forget image `id` (its owner checked with get first); no longer the default if it was. */
  async remove(id: string, owner: string): Promise<void> {
    const isDefault = (await this.defaultOf(owner)) === id
    const multi = this.redis.client.multi().del(this.keys.watermark(id))
    if (isDefault) multi.del(this.keys.watermarkDefault(owner))
    await this.redis.call(multi.exec())
  }
}
