import type { BlockingConnection } from './redis.ts'
import type { RedisCalls } from './redis-calls.ts'

/** One stream entry read (or taken over) by a consumer of a group. */
export interface GroupEntry {
  id: string
  /** The stream it came from. */
  stream: string
  message: Record<string, string>
}

export interface GroupReaderOptions {
  /** XAUTOCLAIM, XPENDING and XGROUP CREATE go through it (each under its deadline). */
  redis: RedisCalls
  /** XREADGROUP BLOCK holds its connection: one of its own (blockingConnection). */
  reader: BlockingConnection['client']
  group: string
  consumer: string
  /** The streams read, in the order work is taken: an entry of the first before any of the second. */
  streams: string[]
  /** Longest XREADGROUP BLOCK. */
  blockMs: number
  /** An entry pending this long, unacknowledged, is a dead consumer's: it is taken over. */
  claimIdleMs: number
  /** How often entries idle past claimIdleMs are looked for (and once at start). */
  claimEveryMs: number
  /** Ends the loop (a blocking read already sent ends when `reader` is closed). */
  signal: AbortSignal
  /** How many entries may be taken now (the free slots); 0 waits for `roomFreed`. Default: 100. */
  room?: () => number
  /** Resolves when room may have come (a slot freed); without it, room() is asked again every 50 ms. */
  roomFreed?: () => Promise<void>
  /** While it returns a promise, nothing is read or claimed until that resolves (a sick consumer). */
  paused?: () => Promise<void> | null
  /** An entry to handle; `claimed` when taken over from another consumer. */
  onEntry: (entry: GroupEntry, claimed: boolean) => void | Promise<void>
  /** Entries deleted from `stream` while pending: XAUTOCLAIM dropped them from the pending list. */
  onDeleted?: (stream: string, entryIds: string[]) => Promise<void>
  /** A read or a takeover failed; the loop waits a second and goes on. */
  onError?: (error: unknown) => void
  /** Where a group created after NOGROUP (Redis came back empty) starts: '0' (default) or '$'. */
  from?: string
}

/** XGROUP CREATE on each stream (MKSTREAM), a group already there left as it is. */
export async function createGroup(redis: RedisCalls, streams: string[], group: string, from = '0') {
  for (const stream of streams) {
    try {
      await redis.call(redis.client.xGroupCreate(stream, group, from, { MKSTREAM: true }))
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error
    }
  }
}

/**
 * The consumer-group loop: XREADGROUP over one or more streams in priority order, XAUTOCLAIM of
 * entries left idle by dead consumers, and no more entries taken than there is room for.
 *
 * Each turn: paused, or with no room, wait; entries held from an earlier read first; every
 * claimEveryMs (or at once after `takeOverNext`), XAUTOCLAIM on every stream in order; else read.
 * With several streams, non-blocking reads in order, then (nothing anywhere) one blocking read of
 * all of them, COUNT 1 each, whose entries past the room are held for the next free slots. With
 * one stream, one blocking read of up to `room()` entries. Acknowledging is the handler's.
 */
export class GroupReader {
  readonly #options: GroupReaderOptions
  readonly #stopped: Promise<void>
  /** XAUTOCLAIM's cursor on each stream. */
  readonly #cursors = new Map<string, string>()
  /** Entries read past the room (a blocking read served several streams): handled first. */
  readonly #held: GroupEntry[] = []
  #lastClaimAt = 0
  #takeOverNext = false

  constructor(options: GroupReaderOptions) {
    this.#options = options
    this.#stopped = new Promise<void>((resolve) => {
      if (options.signal.aborted) resolve()
      options.signal.addEventListener('abort', () => resolve(), { once: true })
    })
  }

  /** Whether a stalled entry waits for the next free room (found by watchStalled). */
  get takeOverPending(): boolean {
    return this.#takeOverNext
  }

  /** Run until the signal is aborted. Never rejects. */
  async run(): Promise<void> {
    const { signal, onError } = this.#options
    while (!signal.aborted) {
      try {
        await this.#turn()
      } catch (error) {
        if (signal.aborted) break
        onError?.(error)
        await sleep(1000)
        // A Redis that came back empty (no append-only file, FLUSHALL, failover) lost the group.
        if (String(error).includes('NOGROUP')) await this.ensure().catch(() => {})
      }
    }
  }

  /** Create the group on every stream (see createGroup). */
  ensure(): Promise<void> {
    const { redis, streams, group, from } = this.#options
    return createGroup(redis, streams, group, from)
  }

  #room(): number {
    return this.#options.room?.() ?? 100
  }

  async #turn(): Promise<void> {
    const { onEntry, claimEveryMs, roomFreed, paused } = this.#options
    const pause = paused?.()
    if (pause) {
      await Promise.race([this.#stopped, pause])
      return
    }
    if (this.#room() <= 0) {
      await Promise.race([this.#stopped, roomFreed?.() ?? sleep(50)])
      return
    }
    const held = this.#held.shift()
    if (held) return void (await onEntry(held, false))
    if (this.#takeOverNext || Date.now() - this.#lastClaimAt >= claimEveryMs) {
      this.#takeOverNext = false
      this.#lastClaimAt = Date.now()
      return this.#takeOver()
    }
    await this.#read()
  }

  async #read(): Promise<void> {
    const { streams, blockMs, onEntry } = this.#options
    if (streams.length === 1) {
      for (const entry of await this.#readGroup(streams, this.#room(), blockMs)) await onEntry(entry, false)
      return
    }
    for (const stream of streams) {
      const room = this.#room()
      if (room <= 0) return
      const entries = await this.#readGroup([stream], room)
      if (entries.length === 0) continue
      for (const entry of entries) await onEntry(entry, false)
      return
    }
    for (const entry of await this.#readGroup(streams, 1, blockMs)) {
      if (this.#room() > 0) await onEntry(entry, false)
      else this.#held.push(entry)
    }
  }

  async #readGroup(streams: string[], count: number, blockMs?: number): Promise<GroupEntry[]> {
    const { reader, group, consumer } = this.#options
    const reply = (await reader.xReadGroup(
      group,
      consumer,
      streams.map((key) => ({ key, id: '>' })),
      blockMs === undefined ? { COUNT: count } : { COUNT: count, BLOCK: blockMs },
    )) as Array<{ name: string; messages: Array<{ id: string; message: Record<string, string> }> }> | null
    return (reply ?? []).flatMap((stream) => stream.messages.map((m) => ({ ...m, stream: stream.name })))
  }

  /** XAUTOCLAIM on every stream in order, up to the room: entries idle past claimIdleMs. */
  async #takeOver(): Promise<void> {
    const { redis, group, consumer, streams, claimIdleMs, onEntry, onDeleted } = this.#options
    for (const stream of streams) {
      const room = this.#room()
      if (room <= 0) return
      const reply = await redis.call(
        redis.client.xAutoClaim(stream, group, consumer, claimIdleMs, this.#cursors.get(stream) ?? '0-0', {
          COUNT: room,
        }),
      )
      this.#cursors.set(stream, reply.nextId)
      if (reply.deletedMessages.length > 0) await onDeleted?.(stream, reply.deletedMessages)
      for (const message of reply.messages) if (message) await onEntry({ ...message, stream }, true)
    }
  }

  /**
   * With no room: is an entry of a dead consumer waiting? Then the next free room takes it over
   * (before any new entry), instead of it waiting behind the whole backlog.
   */
  async watchStalled(): Promise<void> {
    if (this.#takeOverNext || this.#room() > 0) return
    this.#takeOverNext = await this.hasStalled()
  }

  /** Whether some pending entry of any stream has been idle longer than claimIdleMs. */
  async hasStalled(): Promise<boolean> {
    const { redis, group, streams, claimIdleMs } = this.#options
    for (const stream of streams) {
      const stalled = await redis.call(
        redis.client.xPendingRange(stream, group, '-', '+', 1, { IDLE: claimIdleMs }),
      )
      if (stalled.length > 0) return true
    }
    return false
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
