import { type ServerType, serve } from '@hono/node-server'
import { connectionIdleMs, type ServerLimits } from '../http/runtime-serve.ts'
import type { Logger } from '../logger.ts'

export interface FetchApp {
  fetch: (request: Request, ...rest: never[]) => Response | Promise<Response>
}

export interface Listening {
  /** The port actually bound (useful when 0 was asked for). */
  port: number
  close(): Promise<void>
}

/**
 * Listen with @hono/node-server; resolves once the port is bound. With `limits`, Node's own
 * timeouts back the app's (which answer first, as JSON): a request's head must arrive within
 * requestTimeoutMs (Node's default: 60 s), a whole request within longestRequestMs plus that
 * (Node's answers 408 and closes), and a connection silent for connectionIdleMs(limits) is
 * closed (Node's default: never). Without, Node's defaults stay.
 */
export function listen(
  app: FetchApp,
  port: number,
  hostname: string,
  limits?: ServerLimits,
): Promise<Listening> {
  const serverOptions = limits && {
    headersTimeout: limits.requestTimeoutMs,
    requestTimeout: (limits.longestRequestMs ?? limits.requestTimeoutMs) + limits.requestTimeoutMs,
    // How often Node looks for requests past those two (default 30 s: far too coarse for them).
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.round(limits.requestTimeoutMs / 4))),
  }
  return new Promise((resolve, reject) => {
    let server: ServerType | undefined
    const onError = (error: Error) => reject(error)
    server = serve({ fetch: app.fetch as never, port, hostname, serverOptions }, (info) => {
      server?.off('error', onError)
      let closing: Promise<void> | undefined
      resolve({
        port: info.port,
        close: () => {
          closing ??= new Promise<void>((done) => {
            server?.close(() => done())
            // Keep-alive connections would hold close() open; idle ones can go now.
            if (server && 'closeIdleConnections' in server) server.closeIdleConnections()
          })
          return closing
        },
      })
    })
    server.once('error', onError)
    if (limits) server.setTimeout(connectionIdleMs(limits))
    const streaming = limits?.streaming
    if (streaming) {
      server.on('request', (request: { url?: string; socket: { setTimeout(ms: number): void } }) => {
        if (streaming((request.url ?? '/').split('?')[0] ?? '/')) request.socket.setTimeout(0)
      })
    }
  })
}

/**
 * Run `close` on the first SIGINT or SIGTERM, then exit (0 when it finished cleanly). A second
 * signal exits at once.
 */
export function closeOnSignal(close: () => Promise<void>, logger: Logger): void {
  let stoppingSince = 0
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppingSince) {
      // A terminal's Ctrl-C reaches npm and us both, and npm passes it on: that echo is not a
      // second request. One a second later is.
      if (Date.now() - stoppingSince < 1000) return
      logger.warn('second signal, exiting now', { signal })
      process.exit(1)
    }
    stoppingSince = Date.now()
    logger.info('shutting down', { signal })
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error: String(error) })
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

/**
 * Run every cleanup step even when one fails, once; later calls return the same promise
 * (bullmq Worker.close()).
 */
export function closeAll(steps: Array<() => Promise<unknown> | unknown>): () => Promise<void> {
  let closing: Promise<void> | undefined
  return () => {
    closing ??= (async () => {
      const errors: unknown[] = []
      for (const step of steps) {
        try {
          await step()
        } catch (error) {
          errors.push(error)
        }
      }
      if (errors.length === 1) throw errors[0]
      if (errors.length > 1) throw new AggregateError(errors, 'several cleanup steps failed')
    })()
    return closing
  }
}

/**
 * Run a process entry point: a ConfigError (or any start-up failure) prints one line naming the
 * problem and exits 1, instead of a stack trace.
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main()
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`${message}\n`)
    process.exit(1)
  }
}

/** A started service: the port it listens on and how to stop it. */
export interface RunningService {
  port: number
  close(): Promise<void>
}
