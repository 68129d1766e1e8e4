import { createGroup, GroupReader, type GroupReaderOptions } from './group-reader.ts'
import type { RedisCalls } from './redis-calls.ts'
import type { RedisKeys } from './redis-keys.ts'

/**
 * The transcoders' consumer group on the jobs stream: creating it, housekeeping. Reading and
 * takeovers are GroupReader's.
 */
export class ConsumerGroup {
  constructor(
    readonly redis: RedisCalls,
    readonly keys: RedisKeys,
  ) {}

  /** The streams the group reads, in the order work is taken: new jobs, first chunk items, the rest. */
  get streams(): string[] {
    return [this.keys.stream, this.keys.chunksFirst, this.keys.chunks]
  }

  /** Create the consumer group on each stream (from its start, so no entry is ever skipped). */
  ensure(): Promise<void> {
    return createGroup(this.redis, this.streams, this.keys.group)
  }

  /** The group's reader (its streams in order, through this store's calls): see GroupReader. */
  reader(options: Omit<GroupReaderOptions, 'redis' | 'group' | 'streams'>): GroupReader {
    return new GroupReader({ ...options, redis: this.redis, group: this.keys.group, streams: this.streams })
  }

  /**
   * XGROUP DELCONSUMER every consumer but `self` idle longer than `minIdleMs` with no pending
   * entry (each transcoder start is a new consumer name). Returns the names removed.
   */
  async removeIdleConsumers(self: string, minIdleMs: number): Promise<string[]> {
    const removed = new Set<string>()
    for (const stream of this.streams) {
      const names = (await this.redis.script(
        'removeIdleConsumers',
        [stream],
        [this.keys.group, String(minIdleMs), self],
      )) as string[]
      for (const name of names) removed.add(name)
    }
    return [...removed]
  }

  /** Settle a stream entry that names no job we can run (acknowledged and deleted). */
  async settle(entryId: string): Promise<void> {
    await this.redis.call(
      this.redis.client
        .multi()
        .xAck(this.keys.stream, this.keys.group, entryId)
        .xDel(this.keys.stream, entryId)
        .hDel(this.keys.entries, entryId)
        .exec(),
    )
  }
}
