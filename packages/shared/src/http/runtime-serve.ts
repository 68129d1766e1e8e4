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

// biome-ignore lint/suspicious/noExplicitAny: the runtime globals are typed by their own runtimes
const runtime = globalThis as any

/** `Bun.serve`; the server is the app's env, so `hono/bun`'s getConnInfo works. */
export function serveOnBun(
  app: FetchHandler,
  options: { port: number; hostname: string; maxBodyBytes?: number },
): Served {
  if (!runtime.Bun) throw new Error('serveOnBun: not running on Bun')
  const server = runtime.Bun.serve({
    port: options.port,
    hostname: options.hostname,
    fetch: (request: Request, bunServer: unknown) => app.fetch(request, bunServer),
    // Bun's defaults (128 MB bodies, 10 s idle) would cut uploads; the app enforces its own limits.
    maxRequestBodySize: options.maxBodyBytes ?? 2 ** 40,
    idleTimeout: 0,
  })
  return { port: server.port, close: async () => void (await server.stop()) }
}

/** `Deno.serve`; the connection info is the app's env, so `hono/deno`'s getConnInfo works. */
export function serveOnDeno(app: FetchHandler, options: { port: number; hostname: string }): Served {
  if (!runtime.Deno) throw new Error('serveOnDeno: not running on Deno')
  const server = runtime.Deno.serve(
    { port: options.port, hostname: options.hostname, onListen() {} },
    (request: Request, info: unknown) => app.fetch(request, info),
  )
  return { port: server.addr.port, close: () => server.shutdown() }
}
