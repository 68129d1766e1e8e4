import {
  CancelResponseSchema,
  CaptionListSchema,
  CaptionSchema,
  closeRedis,
  connectRedis,
  createLogger,
  createRegistry,
  DeliveryListSchema,
  DlqEntrySchema,
  DlqListSchema,
  DlqRetryResponseSchema,
  ErrorBodySchema,
  HealthSchema,
  JobEventDataSchema,
  JobPageSchema,
  JobSchema,
  JobStore,
  OriginalLinkSchema,
  OutputSchema,
  type RedisClient,
  redisKeys,
  StatsSchema,
} from '@vpp/shared'
import {
  appOperations,
  documentExamples,
  documentedCodes,
  documentedOperations,
  errorAnswers,
  errorProblems,
  invalidExamples,
  operations,
  pageAssets,
  startTestRedis,
  type TestRedis,
  undescribedAnswers,
} from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from './app.ts'
import { EventHub } from './event-hub.ts'
import { MediaSigner } from './media-token.ts'
import { ConsoleConfigSchema } from './routes/console.ts'

const KEY = 'openapi-test-key-0123456789'
let redis: TestRedis
let client: RedisClient
let app: ReturnType<typeof createApp>
// biome-ignore lint/suspicious/noExplicitAny: the served JSON document
let doc: any

beforeAll(async () => {
  redis = await startTestRedis()
  client = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
  const store = new JobStore(client, redisKeys(redis.prefix()))
  const logger = createLogger({ service: 'status', level: 'silent' })
  // Every optional route on (media, events), and keys on: the reference must stay open anyway.
  app = createApp({
    store,
    logger,
    registry: createRegistry('status'),
    apiKeys: [KEY],
    signer: new MediaSigner('s'.repeat(32), 3600),
    media: () => async (c) => c.body('media'),
    events: new EventHub(store.events, () => Promise.reject(new Error('not in this test')), logger),
    console: { ingestUrl: 'http://localhost:8000' },
  })
  const res = await app.request('/openapi.json')
  expect(res.status).toBe(200)
  doc = await res.json()
})
afterAll(async () => {
  await closeRedis(client)
  await redis.stop()
})

describe('GET /openapi.json (status)', () => {
  it('is an OpenAPI 3.1 document of every route the app answers, and of no other', () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.servers).toBeUndefined() // relative: the host that serves it
    expect(documentedOperations(doc)).toEqual(appOperations(app))
    expect(documentedOperations(doc)).toEqual(
      expect.arrayContaining([
        'GET /jobs',
        'GET /jobs/{job_id}',
        'DELETE /jobs/{job_id}',
        'POST /jobs/{job_id}/cancel',
        'POST /jobs/{job_id}/captions',
        'GET /jobs/{job_id}/captions',
        'DELETE /jobs/{job_id}/captions/{caption_id}',
        'GET /media/{first}/{rest}',
        'HEAD /media/{first}/{rest}',
        'GET /jobs/{job_id}/events',
        'GET /events',
        'GET /jobs/{job_id}/deliveries',
        'GET /stats',
        'GET /dlq',
        'POST /dlq/{message_id}/retry',
        'DELETE /dlq/{message_id}',
        'GET /jobs/{job_id}/original',
        'GET /originals/{token}/{job_id}',
        'GET /healthz',
        'GET /metrics',
        'GET /openapi.json',
        'GET /docs',
        'GET /',
        'GET /console/config.json',
        'GET /console/{file}',
      ]),
    )
    for (const { where, op } of operations(doc)) expect(op.summary, where).toBeTruthy()
    expect(undescribedAnswers(doc)).toEqual([])
  })

  it('gives every body an example, and every example validates against its schema', () => {
    const { examples, missing } = documentExamples(doc)
    expect(missing).toEqual([])
    expect(examples.length).toBeGreaterThan(60)
    const zod = {
      Job: JobSchema,
      Output: OutputSchema,
      JobPage: JobPageSchema,
      CancelResponse: CancelResponseSchema,
      DeliveryList: DeliveryListSchema,
      Stats: StatsSchema,
      DlqList: DlqListSchema,
      DlqEntry: DlqEntrySchema,
      DlqRetryResponse: DlqRetryResponseSchema,
      OriginalLink: OriginalLinkSchema,
      ErrorBody: ErrorBodySchema,
      Health: HealthSchema,
      ConsoleConfig: ConsoleConfigSchema,
      Caption: CaptionSchema,
      CaptionList: CaptionListSchema,
    }
    for (const name of Object.keys(zod)) expect(doc.components.schemas, name).toHaveProperty(name)
    expect(invalidExamples(doc, examples, zod)).toEqual([])
  })

  it('shows SSE events whose data is a JobEventData', () => {
    const stream = doc.paths['/events'].get.responses['200'].content['text/event-stream'].example as string
    const data = stream.split('\n').filter((line) => line.startsWith('data: '))
    expect(data.length).toBeGreaterThan(0)
    for (const line of data)
      expect(JobEventDataSchema.safeParse(JSON.parse(line.slice(6))).success).toBe(true)
  })

  it('answers every error as { error, message } with a code of docs/api.md', async () => {
    const codes = await documentedCodes()
    expect(errorProblems(doc, codes)).toEqual([])
    const used = errorAnswers(doc).flatMap((answer) => answer.codes)
    for (const code of [
      'not_found',
      'forbidden',
      'token_expired',
      'job_finished',
      'unauthorized',
      'original_not_kept',
      'original_removed',
    ])
      expect(used).toContain(code)
  })

  it('asks for the bearer key everywhere but the probes, the reference and signed media', async () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.security).toEqual([{ bearer: [] }])
    const exceptions = operations(doc)
      .filter(({ op }) => op.security !== undefined)
      .map(({ where, op }) => [where, op.security])
    const open = [
      'GET /healthz',
      'GET /metrics',
      'GET /openapi.json',
      'GET /docs',
      'GET /docs/{file}',
      'GET /',
      'GET /console/config.json',
      'GET /console/{file}',
    ]
    const keyOrToken = [{ bearer: [] }, {}]
    expect(exceptions).toEqual(
      expect.arrayContaining([
        ...open.map((where) => [where, []]),
        ['GET /media/{first}/{rest}', keyOrToken],
        ['HEAD /media/{first}/{rest}', keyOrToken],
        // The token is the credential: it opens one job's original, and no media.
        ['GET /originals/{token}/{job_id}', []],
        ['GET /media/{job_id}/thumbnail.jpg', keyOrToken],
        ['GET /media/{job_id}/animated.webp', keyOrToken],
      ]),
    )
    expect(exceptions).toHaveLength(open.length + 5)
    for (const path of [
      '/healthz',
      '/metrics',
      '/openapi.json',
      '/docs',
      '/docs/swagger-ui-bundle.js',
      '/console/config.json',
    ]) {
      expect((await app.request(path)).status, path).toBe(200)
    }
    expect((await app.request('/jobs')).status).toBe(401)
  })
})

describe('GET /docs (status)', () => {
  it('serves Swagger UI with its script and stylesheet from the app itself: no URL off the service', async () => {
    const res = await app.request('/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await res.text()
    expect(html).not.toMatch(/https?:|\/\//)
    const assets = pageAssets(html)
    expect(assets).toEqual(['docs/swagger-ui-bundle.js', 'docs/swagger-ui.css'])
    for (const asset of assets) {
      const file = await app.request(new URL(asset, 'http://status/docs').pathname)
      expect(file.status, asset).toBe(200)
      expect(file.headers.get('content-type'), asset).toMatch(
        asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/,
      )
      expect((await file.arrayBuffer()).byteLength, asset).toBeGreaterThan(100_000)
    }
  })
})
