/**
 * Serving a fetch-style app on Bun and on Deno, for their entry points (`serve.bun.ts`,
 * `serve.deno.ts`). Node's is `listen` in `@vpp/shared/node`. The runtimes' globals are looked up
 * when called, so this module loads anywhere.
 */
export interface FetchHandler {
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>
}

export interface Served {
  port: number
  close(): Promise<void>
}

/**
 * What a service's connections are held to, below the app's own per-route limits (which answer
 * first, as JSON): each runtime's server turns these into its own settings.
 */
export interface ServerLimits {
  /** An ordinary request's time limit (REQUEST_TIMEOUT_MS); on Node, a request's head must arrive within it. */
  requestTimeoutMs: number
  /** Longest a request may take to arrive whole (uploads: UPLOAD_TIMEOUT_MS); default requestTimeoutMs. */
  longestRequestMs?: number
  /** Longest a request may send nothing (uploads: UPLOAD_IDLE_TIMEOUT_MS); default requestTimeoutMs. */
  longestSilenceMs?: number
  /**
   * Paths whose answer streams for as long as the client stays (server-sent events, kept alive by
   * their own comment lines): their connections get no idle timeout.
   */
  streaming?: (path: string) => boolean
}

/**
 * A connection that sends nothing for this long is closed: the longest silence the app allows,
 * plus an ordinary request's time for the app's own answer (its JSON 408) to go out first.
 */
export function connectionIdleMs(limits: ServerLimits): number {
  return (limits.longestSilenceMs ?? limits.requestTimeoutMs) + limits.requestTimeoutMs
}

/**
 * Bun's idleTimeout is whole seconds, at most 255, counted in 4-second ticks: a connection told
 * N seconds is closed after anywhere from N - 4 to N + 3 seconds of quiet (seen: told 3, closed
 * after 0.4 s). One tick more keeps it from closing early.
 */
const BUN_MAX_IDLE_SECONDS = 255
const BUN_TICK_SECONDS = 4

// biome-ignore lint/suspicious/noExplicitAny: the runtime globals are typed by their own runtimes
const runtime = globalThis as any

/**
 * `Bun.serve`; the server is the app's env, so `hono/bun`'s getConnInfo works. Bun closes a
 * connection quiet for connectionIdleMs(limits) (a tick more, at most 255 s). That timer also
 * runs while a handler reads a request's body, and body bytes arriving do not restart it (Bun
 * 1.4): for a request `untimed` says the app times from start to end itself (uploads, with
 * their idle and total timeouts), it is turned off, or it would cut an honest slow upload.
 * Bun closes a request whose head has not arrived after about 10 s by itself.
 */
export function serveOnBun(
  app: FetchHandler,
  options: {
    port: number
    hostname: string
    maxBodyBytes?: number
    limits: ServerLimits
    untimed?: (request: Request) => boolean
  },
): Served {
  if (!runtime.Bun) throw new Error('serveOnBun: not running on Bun')
  const streaming = options.limits.streaming
  const untimed =
    options.untimed ??
    (streaming ? (request: Request) => streaming(new URL(request.url).pathname) : () => false)
  const idleSeconds = Math.ceil(connectionIdleMs(options.limits) / 1000) + BUN_TICK_SECONDS
  const server = runtime.Bun.serve({
    port: options.port,
    hostname: options.hostname,
    fetch: (request: Request, bunServer: { timeout(request: Request, seconds: number): void }) => {
      if (untimed(request)) bunServer.timeout(request, 0)
      return app.fetch(request, bunServer)
    },
    // Bun's default (128 MB) would cut uploads; the app's own body limits answer first.
    maxRequestBodySize: options.maxBodyBytes ?? 2 ** 40,
    idleTimeout: Math.min(BUN_MAX_IDLE_SECONDS, idleSeconds),
  })
  return { port: server.port, close: async () => void (await server.stop()) }
}

/**
 * `Deno.serve`; the connection info is the app's env, so `hono/deno`'s getConnInfo works.
 * Deno.serve has no idle or header timeout to set: on Deno, the app's own limits are the bounds.
 */
export function serveOnDeno(app: FetchHandler, options: { port: number; hostname: string }): Served {
  if (!runtime.Deno) throw new Error('serveOnDeno: not running on Deno')
  const server = runtime.Deno.serve(
    { port: options.port, hostname: options.hostname, onListen() {} },
    (request: Request, info: unknown) => app.fetch(request, info),
  )
  return { port: server.addr.port, close: () => server.shutdown() }
}
