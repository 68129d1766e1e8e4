// @tus/server re-exports @tus/utils: the same ERRORS and interfaces the server itself uses.
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/server'
import {
  closeRedis,
  errorMessage,
  type JobStore,
  type LeaseLock,
  type Logger,
  type RedisClient,
  type ReleaseRequest,
  type TusRecords,
} from '@vpp/shared'

/** Lease of an upload's lock: how long a dead holder keeps the upload from everyone else. */
export const TUS_LOCK_LEASE_MS = 10_000
/** How long `lock()` waits for a held lock before ERR_LOCK_TIMEOUT (MemoryLocker's default). */
export const TUS_LOCK_ACQUIRE_TIMEOUT_MS = 30_000
/**
 * Wait between attempts to take a held lock: 50 to 100 ms, drawn at random so that waiters on
 * different replicas do not poll in step.
 */
const RETRY_MS = 50
/**
 * A waiter asks for the release again this often: the holder may have changed since it asked, or
 * the message been missed by a subscriber that was reconnecting.
 */
const ASK_AGAIN_MS = 1000

export interface RedisLockerOptions {
  /** The job store: its tus records, key names and leases (under its command deadline). */
  store: Pick<JobStore, 'keys' | 'tus' | 'lease'>
  /**
   * A connection of its own for SUBSCRIBE (a subscribed connection takes no other commands), e.g.
   * `connectRedis(url, logger)`. Opened on the first `lock()`; the locker closes it in `close()`.
   */
  subscriber: () => Promise<RedisClient>
  /** Default TUS_LOCK_LEASE_MS. Keep the Server's `lockDrainTimeout` under a quarter of it. */
  leaseMs?: number
  /** Default TUS_LOCK_ACQUIRE_TIMEOUT_MS. */
  acquireTimeoutMs?: number
  logger?: Logger
}

/** What a lock needs of its locker. */
interface LockerState {
  readonly store: Pick<JobStore, 'keys' | 'lease'>
  /** Where release requests are published. */
  readonly records: TusRecords
  readonly leaseMs: number
  readonly acquireTimeoutMs: number
  readonly logger: Logger | undefined
  /** The locks held through this locker, by upload id: whom a release request is for. */
  readonly held: Map<string, RedisLock>
  listen(): Promise<void>
}

/**
 * The tus Locker on Redis, so that any ingest replica can take the next request of any upload. A
 * lock is a LeaseLock on `keys.tusLock(id)`, refreshed every third of its lease while held; a
 * holder that dies loses it when the lease runs out. A request that finds the lock held asks its
 * holder to let go, on whichever replica it is, by publishing on `keys.tusReleaseChannel`; every
 * locker listens there and passes the request to the holder's `requestRelease` (the server then
 * ends that request, tus's rule that the newest request for an upload wins).
 *
 * A holder that can no longer confirm its lease (Redis unreachable for three quarters of it) or
 * finds it taken is asked to stop too. Nothing fences a stale writer's last bytes: the request
 * stops `lockDrainTimeout` (the Server's option) after it is asked, so keep that under the last
 * quarter of the lease.
 */
export class RedisLocker implements Locker {
  readonly #options: RedisLockerOptions
  readonly #state: LockerState
  #listening: Promise<void> | undefined
  #subscriber: RedisClient | undefined
  #closed = false

  constructor(options: RedisLockerOptions) {
    this.#options = options
    this.#state = {
      store: options.store,
      records: options.store.tus,
      leaseMs: options.leaseMs ?? TUS_LOCK_LEASE_MS,
      acquireTimeoutMs: options.acquireTimeoutMs ?? TUS_LOCK_ACQUIRE_TIMEOUT_MS,
      logger: options.logger,
      held: new Map(),
      listen: () => this.#listen(),
    }
  }

  newLock(id: string): Lock {
    return new RedisLock(id, this.#state)
  }

  /**
   * Drop the subscriber connection; safe to call twice. Locks still held keep their leases until
   * their requests unlock them, but no longer hear release requests.
   */
  async close(): Promise<void> {
    this.#closed = true
    await this.#listening?.catch(() => {})
    const subscriber = this.#subscriber
    this.#subscriber = undefined
    if (subscriber) await closeRedis(subscriber)
  }

  /** Subscribed to release requests: done before any lock is taken, so that none is missed. */
  #listen(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('RedisLocker is closed'))
    this.#listening ??= this.#subscribe().catch((error: unknown) => {
      this.#listening = undefined // the next lock() tries again
      throw error
    })
    return this.#listening
  }

  async #subscribe(): Promise<void> {
    const subscriber = await this.#options.subscriber()
    try {
      await subscriber.subscribe(this.#state.store.keys.tusReleaseChannel, (message) =>
        this.#onRequest(message),
      )
    } catch (error) {
      await closeRedis(subscriber)
      throw error
    }
    if (this.#closed) {
      await closeRedis(subscriber)
      throw new Error('RedisLocker is closed')
    }
    this.#subscriber = subscriber
  }

  #onRequest(message: string): void {
    let request: unknown
    try {
      request = JSON.parse(message)
    } catch {
      return
    }
    if (!isReleaseRequest(request)) return
    this.#state.held.get(request.id)?.releaseRequested(request.by)
  }
}

/** `by` is the asking lock's `self`: a lock never answers its own request (sent before it got the lock). */
function isReleaseRequest(value: unknown): value is ReleaseRequest {
  const request = value as Partial<ReleaseRequest> | null
  return typeof request?.id === 'string' && typeof request.by === 'string'
}

/** One request's lock on one upload (@tus/server makes one per request). */
class RedisLock implements Lock {
  readonly #self = crypto.randomUUID()
  readonly #lease: LeaseLock
  #status: 'free' | 'held' | 'lost' = 'free'
  #requestRelease: RequestRelease | undefined
  #refresh: ReturnType<typeof setInterval> | undefined
  /** Fires when the lease has gone unconfirmed for three quarters of it. */
  #watchdog: ReturnType<typeof setTimeout> | undefined
  #extending = false

  constructor(
    readonly id: string,
    readonly state: LockerState,
  ) {
    this.#lease = state.store.lease(state.store.keys.tusLock(id), state.leaseMs)
  }

  /**
   * Take the lock, asking its holder (on any replica) to release it meanwhile. Rejects with
   * ERR_LOCK_TIMEOUT when `signal` aborts or the acquire timeout passes first (as MemoryLocker
   * does), and with Redis's error when Redis is unavailable (so the request fails at once).
   */
  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    if (this.#status !== 'free') throw new Error(`the lock of upload ${this.id} is already held`)
    const stop = stopOn(signal, this.state.acquireTimeoutMs)
    try {
      await this.state.listen()
      let askedAt = Number.NEGATIVE_INFINITY
      for (;;) {
        if (stop.stopped) throw ERRORS.ERR_LOCK_TIMEOUT
        const sentAt = performance.now()
        const taking = this.#lease.acquire()
        const taken = await Promise.race([taking, stop.promise])
        if (taken === STOPPED) {
          // The SET may still succeed: give that lock back at once.
          taking.then((ok) => ok && this.#lease.release()).catch(() => {})
          throw ERRORS.ERR_LOCK_TIMEOUT
        }
        if (taken) {
          this.#hold(requestRelease, sentAt)
          return
        }
        if (performance.now() - askedAt >= ASK_AGAIN_MS) {
          askedAt = performance.now()
          await Promise.race([this.#ask(), stop.promise])
        }
        await Promise.race([sleep(RETRY_MS + Math.random() * RETRY_MS), stop.promise])
      }
    } finally {
      stop.clear()
    }
  }

  /**
   * Give the lock up if it is still ours (never another holder's), and stop refreshing it. Never
   * throws: @tus/server unlocks in `finally` blocks, where a throw would turn a PATCH whose bytes
   * are stored into a 500. Unlocking a lock not held does nothing.
   */
  async unlock(): Promise<void> {
    const status = this.#status
    if (status === 'free') return
    this.#drop()
    this.#status = 'free'
    try {
      const released = await this.#lease.release()
      if (!released && status === 'held') {
        this.state.logger?.warn('tus upload lock had run out before its unlock', { upload_id: this.id })
      }
    } catch (error) {
      this.state.logger?.warn('could not release a tus upload lock; its lease runs out', {
        upload_id: this.id,
        error: errorMessage(error),
      })
    }
  }

  /** Another request (`by`) wants this upload: ask our request to end. */
  releaseRequested(by: string): void {
    if (by === this.#self || this.#status !== 'held') return
    this.#askToStop()
  }

  #hold(requestRelease: RequestRelease, sentAt: number): void {
    this.#status = 'held'
    this.#requestRelease = requestRelease
    this.state.held.set(this.id, this)
    this.#confirmed(sentAt)
    this.#refresh = setInterval(() => this.#extend(), Math.max(1, Math.floor(this.state.leaseMs / 3)))
    this.#refresh.unref()
  }

  #extend(): void {
    if (this.#extending) return // a refresh still waiting for Redis
    this.#extending = true
    const sentAt = performance.now()
    this.#lease
      .extend()
      .then(
        (extended) => {
          if (this.#status !== 'held') return
          if (extended) this.#confirmed(sentAt)
          else this.#lose('its lease ran out and another request may have it')
        },
        (error: unknown) => {
          // The next refresh tries again; the watchdog decides when it is too late.
          this.state.logger?.debug('refreshing a tus upload lock failed', {
            upload_id: this.id,
            error: errorMessage(error),
          })
        },
      )
      .finally(() => {
        this.#extending = false
      })
  }

  /** The lease runs until `sentAt` + lease at least (it was set or extended after `sentAt`). */
  #confirmed(sentAt: number): void {
    clearTimeout(this.#watchdog)
    const due = sentAt + (this.state.leaseMs * 3) / 4 - performance.now()
    this.#watchdog = setTimeout(() => this.#lose('its lease could not be refreshed'), Math.max(0, due))
    this.#watchdog.unref()
  }

  #lose(reason: string): void {
    if (this.#status !== 'held') return
    this.#drop()
    this.#status = 'lost'
    this.state.logger?.warn('tus upload lock lost; asking its request to stop', {
      upload_id: this.id,
      reason,
    })
    this.#askToStop()
  }

  #askToStop(): void {
    const requestRelease = this.#requestRelease
    if (!requestRelease) return
    const failed = (error: unknown) =>
      this.state.logger?.warn('requestRelease failed', { upload_id: this.id, error: errorMessage(error) })
    try {
      Promise.resolve(requestRelease()).catch(failed)
    } catch (error) {
      failed(error)
    }
  }

  /** Stop refreshing and answering release requests. */
  #drop(): void {
    clearInterval(this.#refresh)
    clearTimeout(this.#watchdog)
    this.#refresh = undefined
    this.#watchdog = undefined
    if (this.state.held.get(this.id) === this) this.state.held.delete(this.id)
  }

  #ask(): Promise<number> {
    return this.state.records.askRelease({ id: this.id, by: this.#self })
  }
}

const STOPPED = Symbol('stopped')

/** `promise` resolves to STOPPED when `signal` aborts or `ms` pass, whichever is first. */
function stopOn(signal: AbortSignal, ms: number) {
  let stopped = false
  let resolve: (value: typeof STOPPED) => void = () => {}
  const promise = new Promise<typeof STOPPED>((r) => {
    resolve = r
  })
  const onStop = () => {
    stopped = true
    resolve(STOPPED)
  }
  const timer = setTimeout(onStop, ms)
  if (signal.aborted) onStop()
  else signal.addEventListener('abort', onStop, { once: true })
  return {
    get stopped() {
      return stopped
    },
    promise,
    clear() {
      clearTimeout(timer)
      signal.removeEventListener('abort', onStop)
    },
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
