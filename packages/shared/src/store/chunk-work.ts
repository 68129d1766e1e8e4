import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'
import type { Claim } from './job-hash.ts'
import { eventKeys } from './job-outcomes.ts'
import type { StoreScript } from './lua/index.ts'

/** Where an item is: waiting in a stream, being encoded, waiting out a backoff, done, or given up. */
export type ItemState = 'queued' | 'running' | 'retrying' | 'done' | 'failed'

/** One work item of a chunked encode, as its job's chunk hash holds it. */
export interface ItemRecord {
  name: string
  state: ItemState
  attempts: number
  /** Seconds of its stretch encoded so far (reported while it runs). */
  at: number
  /** What its run made (JSON, as the worker recorded it), once done. */
  result?: string
  /** What its run has published so far, while it runs (JSON; the audio's first HLS segments). */
  partial?: string
  error?: string
  code?: string
}

/** A job's chunked encode as recorded: its plan (JSON), and its items in order. */
export interface ChunkJobRecord {
  plan: string
  items: ItemRecord[]
}

/** A transcoder's hold on one chunk item: the item's lease is the fencing token. */
export interface ChunkClaim {
  jobId: string
  item: string
  stream: string
  entryId: string
  lease: string
}

export type ChunkStart =
  | { started: true; claim: ChunkClaim; attempts: number; plan: string }
  | { started: false; why: 'gone' | 'stale' }

export type ChunkOutcome =
  | { outcome: 'done'; result: string }
  | { outcome: 'retry'; error: string; code: string; due: Date; uncounted?: boolean }
  | { outcome: 'failed'; error: string; code: string }

/**
 * The chunk work items of jobs encoded in chunks, on their own streams of the transcoders' group
 * (`keys.chunksFirst`, `keys.chunks`), with the machinery of jobs: leases, heartbeats, retries
 * with backoff, takeovers by XAUTOCLAIM (the group's, per stream).
 */
export class ChunkWork {
  constructor(
    readonly redis: RedisCalls<StoreScript>,
    readonly keys: RedisKeys,
  ) {}

  /**
   * Plan job `claim.jobId`'s chunked encode and queue its items (`first`: on the first-items
   * stream), or, planned already, queue again what is not done and has no entry (a failed item
   * with its attempts reset). `planned`: whether a plan was there before (its JSON is what
   * counts then: read it back). Null when the caller lost the job.
   */
  async plan(
    claim: Claim,
    plan: string,
    items: ReadonlyArray<{ name: string; first: boolean }>,
  ): Promise<{ planned: boolean; queued: number } | null> {
    const k = this.keys
    const [outcome, queued] = (await this.redis.script(
      'planChunks',
      [k.job(claim.jobId), k.chunkJob(claim.jobId), k.chunksFirst, k.chunks, k.chunksDelayed],
      [String(claim.lease), claim.jobId, plan, ...items.map((i) => `${i.name} ${i.first ? 1 : 0}`)],
    )) as [number, number?]
    if (outcome === 0) return null
    return { planned: outcome === 2, queued: queued ?? 0 }
  }

  /** The recorded state of job `jobId`'s chunked encode; null when it has none. */
  async read(jobId: string): Promise<ChunkJobRecord | null> {
    const hash = await this.redis.call(this.redis.client.hGetAll(this.keys.chunkJob(jobId)))
    if (!hash.plan) return null
    const items = (hash.items ?? '')
      .split(',')
      .filter(Boolean)
      .map((name) => ({
        name,
        state: (hash[`${name}:state`] ?? 'queued') as ItemState,
        attempts: Number(hash[`${name}:attempts`] ?? 0),
        at: Number(hash[`${name}:at`] ?? 0),
        result: hash[`${name}:result`],
        partial: hash[`${name}:partial`],
        error: hash[`${name}:error`],
        code: hash[`${name}:code`],
      }))
    return { plan: hash.plan, items }
  }

  /** Forget job `jobId`'s chunked encode (assembled and published). */
  async forget(jobId: string): Promise<void> {
    await this.redis.call(this.redis.client.del(this.keys.chunkJob(jobId)))
  }

  /** Take item `item` of job `jobId`, delivered as `entryId` on `stream`, for `consumer`. */
  async start(
    jobId: string,
    item: string,
    stream: string,
    entryId: string,
    consumer: string,
  ): Promise<ChunkStart> {
    const k = this.keys
    const reply = (await this.redis.script(
      'startChunk',
      [k.job(jobId), k.chunkJob(jobId), stream, k.entries],
      [k.group, item, entryId, consumer],
    )) as [string, number?, number?, string?]
    if (reply[0] !== 'started') return { started: false, why: reply[0] === 'gone' ? 'gone' : 'stale' }
    return {
      started: true,
      claim: { jobId, item, stream, entryId, lease: String(reply[1]) },
      attempts: Number(reply[2]),
      plan: reply[3] ?? '',
    }
  }

  /**
   * Keep a running item's entry fresh (and record `seconds` encoded, when given). False: the
   * item was lost (taken over, or its job is no longer processing): stop.
   */
  async heartbeat(claim: ChunkClaim, consumer: string, seconds?: number): Promise<boolean> {
    return (await this.#heartbeat(claim, consumer, claim.entryId, seconds)) === 1
  }

  /** Record how far a running item got (seconds encoded, and what it published so far), best effort. */
  async progress(claim: ChunkClaim, seconds: number, partial?: string): Promise<boolean> {
    return (await this.#heartbeat(claim, '', '', seconds, partial)) === 1
  }

  #heartbeat(claim: ChunkClaim, consumer: string, entryId: string, seconds?: number, partial?: string) {
    const k = this.keys
    return this.redis.script(
      'chunkHeartbeat',
      [k.job(claim.jobId), k.chunkJob(claim.jobId), claim.stream],
      [
        k.group,
        consumer,
        claim.item,
        claim.lease,
        entryId,
        seconds === undefined ? '' : seconds.toFixed(3),
        partial ?? '',
      ],
    )
  }

  /** Record an item's outcome, fenced by its lease. False: the item was lost; nothing changed. */
  async finish(claim: ChunkClaim, outcome: ChunkOutcome): Promise<boolean> {
    const k = this.keys
    const [payload, code, due] =
      outcome.outcome === 'done'
        ? [outcome.result, '', '']
        : [outcome.error, outcome.code, outcome.outcome === 'retry' ? String(outcome.due.getTime()) : '']
    const uncounted = outcome.outcome === 'retry' && outcome.uncounted ? '1' : '0'
    const recorded = await this.redis.script(
      'finishChunk',
      [k.job(claim.jobId), k.chunkJob(claim.jobId), claim.stream, k.chunksDelayed, k.entries],
      [
        k.group,
        claim.item,
        claim.lease,
        claim.entryId,
        outcome.outcome,
        payload,
        code,
        due,
        claim.jobId,
        uncounted,
      ],
    )
    return recorded === 1
  }

  /** Queue the items whose retry is due. Returns how many. */
  async promoteDue(now: Date, limit = 100): Promise<number> {
    const k = this.keys
    return Number(
      await this.redis.script(
        'promoteChunks',
        [k.chunksDelayed, k.chunksFirst, k.chunks],
        [String(now.getTime()), String(limit), k.job(''), k.chunkJob('')],
      ),
    )
  }

  /** Mark the job playable (`playable_at`, a `job.playable` event), once. Fenced by the job's lease. */
  async playable(claim: Claim, now: Date): Promise<boolean> {
    const k = this.keys
    return (
      (await this.redis.script(
        'playable',
        [k.job(claim.jobId), ...eventKeys(k)],
        [String(claim.lease), now.toISOString()],
      )) === 1
    )
  }
}
