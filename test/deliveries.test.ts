/**
 * A job's delivery log, per tenant: a plain key sees only the attempts at its job's own
 * callback_url; the operator's WEBHOOK_URLS (which may carry tokens) only an admin key sees, and
 * without their query strings or credentials. Real HTTP receiver on loopback, real Redis, the
 * real webhook worker.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLogger, type DeliveryList, UploadResponseSchema } from '@vpp/shared'
import type { RunningService } from '@vpp/shared/node'
import { startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { startWebhooks, loadConfig as statusConfig } from '@vpp/status'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

const A = 'key-a-0123456789abcdef'
const B = 'key-b-0123456789abcdef'
const ADMIN = 'key-admin-0123456789abcdef'
const SECRET = `whsec_${Buffer.from('a webhook secret of 24 b').toString('base64')}`

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let webhooks: RunningService | undefined
let receiver: Server
let base = ''

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` })

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  receiver = createServer((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(204).end())
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  pipeline = await startPipeline(redis, `${dir.path}/data`, {
    API_KEYS: `${A},${B}`,
    ADMIN_API_KEYS: ADMIN,
    MEDIA_SIGNING_SECRET: 'media-secret-0123456789abcdef-0123456789',
    URL_IMPORT_ALLOW_PRIVATE: 'true',
  })
  // No transcoder: job.queued is enough to deliver.
  webhooks = await startWebhooks(
    statusConfig({
      ...pipeline.env,
      WEBHOOK_SECRET: SECRET,
      // One refused for its credentials, one delivered; both carry the operator's token.
      WEBHOOK_URLS: `http://op:op-password@127.0.0.1:1/refused?token=OPERATOR-SECRET,${base}/operator?token=OPERATOR-SECRET#frag`,
      WEBHOOK_EVENTS: 'job.queued',
      WEBHOOK_RETRY_SCHEDULE: '100ms',
      WEBHOOK_METRICS_PORT: '0',
    }),
    createLogger({ service: 'webhooks', level: 'silent' }),
  )
}, 60_000)
afterAll(async () => {
  await webhooks?.close()
  await pipeline?.close()
  receiver?.closeAllConnections()
  await new Promise((resolve) => receiver?.close(resolve))
  await redis?.stop()
  await dir?.remove()
})

async function importAs(key: string, callbackUrl?: string): Promise<string> {
  const res = await fetch(`${pipeline.ingest}/upload-url`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(key) },
    body: JSON.stringify({ url: 'http://127.0.0.1:9/v.mp4', callback_url: callbackUrl }),
  })
  expect(res.status).toBe(202)
  return UploadResponseSchema.parse(await res.json()).job_id
}

async function deliveries(key: string, id: string) {
  const res = await fetch(`${pipeline.status}/jobs/${id}/deliveries`, { headers: bearer(key) })
  const text = await res.text()
  return { status: res.status, text, list: res.status === 200 ? (JSON.parse(text) as DeliveryList) : null }
}

describe('GET /jobs/{id}/deliveries per key', () => {
  it("shows a plain key only its callback_url's attempts, and an admin the operator's targets without secrets", async () => {
    const callback = `${base}/tenant?sig=the-tenants-own`
    const id = await importAs(A, callback)
    // All three targets tried: the job's callback, the operator's two.
    await eventually(
      async () => (await deliveries(ADMIN, id)).list?.deliveries.length === 3,
      10_000,
      'an attempt at each target',
    )

    const mine = await deliveries(A, id)
    expect(mine.status).toBe(200)
    expect(mine.list?.deliveries).toEqual([
      expect.objectContaining({ event: 'job.queued', url: callback, target: 'callback', status_code: 204 }),
    ])
    expect(mine.text).not.toContain('OPERATOR-SECRET')
    expect(mine.text).not.toContain('/operator')

    const admin = await deliveries(ADMIN, id)
    expect(admin.status).toBe(200)
    const byUrl = Object.fromEntries((admin.list?.deliveries ?? []).map((d) => [d.url, d]))
    expect(Object.keys(byUrl).sort()).toEqual(
      [callback, 'http://127.0.0.1:1/refused', `${base}/operator`].sort(),
    )
    expect(byUrl[callback]).toMatchObject({ target: 'callback' })
    expect(byUrl[`${base}/operator`]).toMatchObject({ target: 'operator', status_code: 204 })
    expect(byUrl['http://127.0.0.1:1/refused']).toMatchObject({ target: 'operator', status_code: null })
    for (const secret of ['OPERATOR-SECRET', 'op-password', 'op:', '#frag']) {
      expect(admin.text).not.toContain(secret)
    }

    // Another plain key: no such job.
    expect((await deliveries(B, id)).status).toBe(404)
  })

  it('shows a plain key no attempts at all for a job without a callback_url', async () => {
    const id = await importAs(B)
    await eventually(
      async () => (await deliveries(ADMIN, id)).list?.deliveries.length === 2,
      10_000,
      "an attempt at each of the operator's targets",
    )
    const mine = await deliveries(B, id)
    expect(mine.list).toEqual({ deliveries: [] })
  })
})
