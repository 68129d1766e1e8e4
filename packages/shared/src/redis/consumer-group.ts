import type { RedisCalls } from './redis-calls.ts'
import type { RedisKeys } from './redis-keys.ts'

/** The transcoders' consumer group on the jobs stream: creating it, takeovers, housekeeping. */
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
  async ensure(): Promise<void> {
    for (const stream of this.streams) {
      try {
        await this.redis.call(
          this.redis.client.xGroupCreate(stream, this.keys.group, '0', { MKSTREAM: true }),
        )
      } catch (error) {
        if (!String(error).includes('BUSYGROUP')) throw error
      }
    }
  }

  /**
   * XAUTOCLAIM: take over for `consumer` up to `count` entries idle longer than `minIdleMs`
   * (their transcoder died), scanning `stream` (default: the jobs stream) from `cursor`.
   * `deleted`: entries deleted from the stream while pending (see failLostEntry).
   */
  async claimStalled(
    consumer: string,
    minIdleMs: number,
    cursor: string,
    count: number,
    stream = this.keys.stream,
  ) {
    const reply = await this.redis.call(
      this.redis.client.xAutoClaim(stream, this.keys.group, consumer, minIdleMs, cursor, {
        COUNT: count,
      }),
    )
    const messages = reply.messages.filter((m) => m !== null) as Array<{
      id: string
      message: Record<string, string>
    }>
    return { cursor: reply.nextId, messages, deleted: reply.deletedMessages }
  }

  /** Whether some pending entry of any stream has been idle longer than `minIdleMs` (a dead transcoder's). */
  async hasStalled(minIdleMs: number): Promise<boolean> {
    for (const stream of this.streams) {
      const stalled = await this.redis.call(
        this.redis.client.xPendingRange(stream, this.keys.group, '-', '+', 1, { IDLE: minIdleMs }),
      )
      if (stalled.length > 0) return true
    }
    return false
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
