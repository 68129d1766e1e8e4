import type { RedisKeys } from '../redis/redis-keys.ts'
import type { RedisCalls } from './redis-calls.ts'

/** The transcoders' consumer group on the jobs stream: creating it, takeovers, housekeeping. */
export class ConsumerGroup {
  constructor(
    readonly redis: RedisCalls,
    readonly keys: RedisKeys,
  ) {}

  /** Create the consumer group (from the stream's start, so no entry is ever skipped). */
  async ensure(): Promise<void> {
    try {
      await this.redis.call(
        this.redis.client.xGroupCreate(this.keys.stream, this.keys.group, '0', { MKSTREAM: true }),
      )
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error
    }
  }

  /**
   * XAUTOCLAIM: take over for `consumer` up to `count` entries idle longer than `minIdleMs`
   * (their transcoder died), scanning from `cursor`. `deleted`: entries deleted from the stream
   * while pending (see failLostEntry).
   */
  async claimStalled(consumer: string, minIdleMs: number, cursor: string, count: number) {
    const reply = await this.redis.call(
      this.redis.client.xAutoClaim(this.keys.stream, this.keys.group, consumer, minIdleMs, cursor, {
        COUNT: count,
      }),
    )
    const messages = reply.messages.filter((m) => m !== null) as Array<{
      id: string
      message: Record<string, string>
    }>
    return { cursor: reply.nextId, messages, deleted: reply.deletedMessages }
  }

  /** Whether some pending entry has been idle longer than `minIdleMs` (a dead transcoder's). */
  async hasStalled(minIdleMs: number): Promise<boolean> {
    const stalled = await this.redis.call(
      this.redis.client.xPendingRange(this.keys.stream, this.keys.group, '-', '+', 1, { IDLE: minIdleMs }),
    )
    return stalled.length > 0
  }

  /**
   * XGROUP DELCONSUMER every consumer but `self` idle longer than `minIdleMs` with no pending
   * entry (each transcoder start is a new consumer name). Returns the names removed.
   */
  async removeIdleConsumers(self: string, minIdleMs: number): Promise<string[]> {
    return (await this.redis.script(
      'removeIdleConsumers',
      [this.keys.stream],
      [this.keys.group, String(minIdleMs), self],
    )) as string[]
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
