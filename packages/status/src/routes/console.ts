/**
 * The web console at `/`: its page, script and stylesheet, hls.js, and `config.json` (where
 * ingest is, whether keys are on, the profiles). Open without a key, like `/docs`: the page asks
 * for one, and every call it makes carries it.
 */
import { CONSOLE_FILES, type ConsoleFile, consoleAssets } from '@vpp/console'
import { AppError, answer, assetResponse, errors, JOB_STATUSES, json, NO_KEY, text } from '@vpp/shared'
import { type Context, Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'

export interface ConsoleOptions {
  /** Where browsers reach ingest (INGEST_PUBLIC_URL); unset: the page's host on ingestPort. */
  ingestUrl?: string
  /** INGEST_PORT (default 8000). */
  ingestPort?: number
  keysOn: boolean
  profiles: readonly string[]
}

/** What the page learns from `GET /console/config.json`. */
export const ConsoleConfigSchema = z
  .object({
    ingest_url: z.string().nullable().describe('Where uploads go; null: the page’s host on `ingest_port`'),
    ingest_port: z
      .number()
      .int()
      .describe('INGEST_PORT: the port of ingest on the page’s host, when no URL is set'),
    keys: z.boolean().describe('Whether an API key is needed'),
    profiles: z.array(z.string()).describe('The profiles an upload may ask for'),
    statuses: z.array(z.string()).describe('The statuses a job may have (the list filter)'),
  })
  .meta({
    id: 'ConsoleConfig',
    examples: [
      {
        ingest_url: null,
        ingest_port: 8000,
        keys: false,
        profiles: ['720p', '480p', 'hls'],
        statuses: ['queued', 'processing', 'completed'],
      },
    ],
  })

/** Paths served without a key. */
export const isConsolePath = (path: string) => path === '/' || path.startsWith('/console/')

const notBuilt = () =>
  new AppError('console_not_built', 'The console is not built: run npm run build:console', 503)

const NOT_BUILT = {
  503: [['console_not_built', 'The console is not built: run npm run build:console']],
} as const

async function serve(c: Context, name: ConsoleFile) {
  const asset = (await consoleAssets())?.get(name)
  if (!asset) throw notBuilt()
  // Revalidated on every load (ETag): a rebuilt console is seen at once.
  return assetResponse(c, asset, 'no-cache')
}

/** `GET /`, `/console/config.json` and `/console/{file}` (status's global limits apply). */
export function consoleRoutes(options: ConsoleOptions) {
  const app = new Hono()
  const config = {
    ingest_url: options.ingestUrl ?? null,
    ingest_port: options.ingestPort ?? 8000,
    keys: options.keysOn,
    profiles: [...options.profiles],
    statuses: [...JOB_STATUSES],
  } satisfies z.infer<typeof ConsoleConfigSchema>
  app.get(
    '/',
    describeRoute({
      tags: ['Console'],
      summary: 'The web console',
      description: 'Upload, watch jobs live, play the results, retry dead letters. No key needed to load it.',
      security: NO_KEY,
      responses: {
        200: answer('The page', text('text/html', '<!doctype html>', 'An HTML page')),
        ...errors(NOT_BUILT),
      },
    }),
    (c) => serve(c, 'index.html'),
  )
  app.get(
    '/console/config.json',
    describeRoute({
      tags: ['Console'],
      summary: "The console's settings",
      description: 'Where ingest is, whether a key is needed, and the profiles on offer.',
      security: NO_KEY,
      responses: { 200: answer('The settings', json(ConsoleConfigSchema)) },
    }),
    (c) => c.json(config, 200, { 'Cache-Control': 'no-store' }),
  )
  const files: readonly ConsoleFile[] = CONSOLE_FILES.filter((name) => name !== 'index.html')
  app.get(
    '/console/:file',
    describeRoute({
      tags: ['Console'],
      summary: "The console's script, stylesheet and player",
      description:
        'Built by `npm run build:console`; hls.js from its package. Gzip when the client takes it.',
      security: NO_KEY,
      parameters: [
        { in: 'path', name: 'file', required: true, schema: { type: 'string', enum: [...files] } },
      ],
      responses: {
        200: answer('The file', { ...text('text/javascript', '(()=>{})()'), ...text('text/css', 'body{}') }),
        ...errors({ 404: [['not_found', 'No route for GET /console/other.js']], ...NOT_BUILT }),
      },
    }),
    (c) => {
      const name = c.req.param('file') as ConsoleFile
      if (!files.includes(name)) return c.notFound()
      return serve(c, name)
    },
  )
  return app
}
