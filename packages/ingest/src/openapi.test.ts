import { ErrorBodySchema, HealthSchema, UploadResponseSchema, UploadUrlRequestSchema } from '@vpp/shared'
import { LocalStorage } from '@vpp/shared/node'
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
  tempDir,
  undescribedAnswers,
} from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UploadFormSchema } from './openapi.ts'
import { useIngestFixture } from './test-fixture.ts'
import { tusStorage } from './tus/storage.ts'

const KEY = 'openapi-test-key-0123456789'
const fixture = useIngestFixture()
let dir: Awaited<ReturnType<typeof tempDir>>
let app: Awaited<ReturnType<typeof fixture.makeApp>>['app']
// biome-ignore lint/suspicious/noExplicitAny: the served JSON document
let doc: any

beforeAll(async () => {
  dir = await tempDir()
  const storage = new LocalStorage(`${dir.path}/uploads`, `${dir.path}/output`)
  // Every optional route on (tus), and keys on: the reference must stay open anyway.
  ;({ app } = await fixture.makeApp({
    storage,
    tus: tusStorage(storage, { expiryMs: 3600_000 }),
    apiKeys: [KEY],
  }))
  const res = await app.request('/openapi.json')
  expect(res.status).toBe(200)
  doc = await res.json()
})
afterAll(() => dir?.remove())

describe('GET /openapi.json (ingest)', () => {
  it('is an OpenAPI 3.1 document of every route the app answers, and of no other', () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.servers).toBeUndefined() // relative: the host that serves it
    expect(documentedOperations(doc)).toEqual(appOperations(app))
    expect(documentedOperations(doc)).toEqual(
      expect.arrayContaining([
        'POST /upload',
        'POST /upload-url',
        'POST /uploads',
        'OPTIONS /uploads',
        'HEAD /uploads/{id}',
        'PATCH /uploads/{id}',
        'DELETE /uploads/{id}',
        'OPTIONS /uploads/{id}',
        'GET /healthz',
        'GET /metrics',
        'GET /openapi.json',
        'GET /docs',
      ]),
    )
    for (const { where, op } of operations(doc)) expect(op.summary, where).toBeTruthy()
    // Each answer described (hono-openapi's default for a route without any is a bare `200: {}`).
    expect(undescribedAnswers(doc)).toEqual([])
  })

  it('gives every body an example, and every example validates against its schema', () => {
    const { examples, missing } = documentExamples(doc)
    expect(missing).toEqual([])
    expect(examples.length).toBeGreaterThan(40)
    const zod = {
      UploadResponse: UploadResponseSchema,
      UploadUrlRequest: UploadUrlRequestSchema,
      UploadForm: UploadFormSchema,
      ErrorBody: ErrorBodySchema,
      Health: HealthSchema,
    }
    for (const name of Object.keys(zod)) expect(doc.components.schemas, name).toHaveProperty(name)
    expect(invalidExamples(doc, examples, zod)).toEqual([])
  })

  it('answers every error as { error, message } with a code of docs/api.md', async () => {
    const codes = await documentedCodes()
    expect(errorProblems(doc, codes)).toEqual([])
    const used = errorAnswers(doc).flatMap((answer) => answer.codes)
    for (const code of ['file_too_large', 'invalid_file_type', 'rate_limited', 'upload_offset_mismatch'])
      expect(used).toContain(code)
  })

  it('asks for the bearer key everywhere but the probes and the reference, which answer without one', async () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.security).toEqual([{ bearer: [] }])
    const open = operations(doc)
      .filter(({ op }) => op.security !== undefined)
      .map(({ where, op }) => [where, op.security])
    expect(open).toEqual(
      ['GET /healthz', 'GET /metrics', 'GET /openapi.json', 'GET /docs', 'GET /docs/{file}'].map((w) => [
        w,
        [],
      ]),
    )
    for (const path of ['/healthz', '/metrics', '/openapi.json', '/docs', '/docs/swagger-ui.css']) {
      expect((await app.request(path)).status, path).toBe(200)
    }
    expect((await app.request('/upload-url', { method: 'POST' })).status).toBe(401)
  })
})

describe('GET /docs (ingest)', () => {
  it('serves Swagger UI with its script and stylesheet from the app itself: no URL off the service', async () => {
    const res = await app.request('/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await res.text()
    expect(html).toContain('SwaggerUIBundle')
    expect(html).not.toMatch(/https?:|\/\//) // no absolute or protocol-relative URL at all
    const assets = pageAssets(html)
    expect(assets).toEqual(['docs/swagger-ui-bundle.js', 'docs/swagger-ui.css'])
    for (const asset of assets) {
      const url = new URL(asset, 'http://ingest/docs')
      const file = await app.request(url.pathname)
      expect(file.status, asset).toBe(200)
      expect(file.headers.get('content-type'), asset).toMatch(
        asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/,
      )
      expect((await file.arrayBuffer()).byteLength, asset).toBeGreaterThan(100_000)
    }
    const zipped = await app.request('/docs/swagger-ui-bundle.js', {
      headers: { 'accept-encoding': 'gzip, br' },
    })
    expect(zipped.headers.get('content-encoding')).toBe('gzip')
    expect((await app.request('/docs/other.js')).status).toBe(404)
  })
})
