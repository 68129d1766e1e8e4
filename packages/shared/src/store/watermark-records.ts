import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'
import type { StoreScript } from './lua/index.ts'

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
 * `keys.watermark(id)` holds each one's record, `keys.watermarks(owner)` the ids an owner keeps
 * (counted against WATERMARK_MAX_PER_KEY), `keys.watermarkDefault(owner)` the id of an owner's
 * default. A default whose record is gone (deleted) is no default.
 */
export class WatermarkRecords {
  constructor(
    readonly redis: RedisCalls<StoreScript>,
    readonly keys: RedisKeys,
  ) {}

  /**
   * Record image `id`, and make it its owner's default when `asDefault`, unless its owner keeps
   * `max` images already (then false, nothing recorded). One script (add-watermark-3.lua): the
   * count and the add are one step, so two parallel adds at the cap cannot both pass.
   */
  async create(id: string, record: WatermarkRecord, asDefault: boolean, max: number): Promise<boolean> {
    const keys = [
      this.keys.watermarks(record.owner),
      this.keys.watermark(id),
      this.keys.watermarkDefault(record.owner),
    ]
    const args = [
      id,
      String(max),
      asDefault ? '1' : '0',
      record.owner,
      String(record.width),
      String(record.height),
      String(record.size_bytes),
      record.created_at,
    ]
    const [code] = (await this.redis.script('addWatermark', keys, args)) as [string, string]
    return code === 'ok'
  }

  /** `owner`'s images, newest first, with which one is its default. */
  async list(
    owner: string,
  ): Promise<{ images: Array<WatermarkRecord & { id: string }>; defaultId: string | null }> {
    const [ids, defaultId] = await Promise.all([
      this.redis.call(this.redis.client.sMembers(this.keys.watermarks(owner))),
      this.defaultOf(owner),
    ])
    const records = await Promise.all(ids.map(async (id) => ({ id, record: await this.get(id, owner) })))
    const images = records.flatMap(({ id, record }) => (record ? [{ id, ...record }] : []))
    images.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id))
    return { images, defaultId }
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
    const multi = this.redis.client.multi().del(this.keys.watermark(id)).sRem(this.keys.watermarks(owner), id)
    if (isDefault) multi.del(this.keys.watermarkDefault(owner))
    await this.redis.call(multi.exec())
  }
}
