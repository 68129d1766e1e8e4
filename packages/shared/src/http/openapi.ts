import type { MiddlewareHandler } from 'hono'
import {
  type ContentWithResolver,
  type DescribeRouteOptions,
  describeRoute,
  resolver,
  uniqueSymbol,
} from 'hono-openapi'
import { z } from 'zod'
import { ErrorBodySchema } from '../api/job.ts'

/**
 * The pieces every route's OpenAPI description is made of (with hono-openapi's describeRoute,
 * beside the route's handler): bodies from the zod schemas with their examples, error answers
 * with real codes, and who may call it.
 */

type Schema = z.ZodType
type Responses = NonNullable<DescribeRouteOptions['responses']>
type Response = Responses[string]
type Headers = Record<string, { description: string; schema: { type: 'string' } }>

/** The first of a schema's own examples (`.meta({ examples })`). */
const exampleOf = (schema: Schema): unknown => (schema.meta()?.examples as unknown[] | undefined)?.[0]

/**
 * A JSON body described by its zod schema: what the app sends (`io: 'output'`: fields with a
 * default are always there) or, for a request, what it takes. The example is the schema's own
 * unless one is given.
 */
export function json(schema: Schema, example = exampleOf(schema), io: 'input' | 'output' = 'output') {
  return { 'application/json': { schema: resolver(schema, { options: { io } }), example } }
}

/** A request's JSON body. */
export function jsonRequest(schema: Schema, example = exampleOf(schema)) {
  return { required: true, content: json(schema, example, 'input') }
}

/** A request's `multipart/form-data` body: its fields as a zod object, with its example. */
export function formRequest(schema: Schema, example = exampleOf(schema)) {
  return {
    required: true,
    content: { 'multipart/form-data': { schema: resolver(schema, { options: { io: 'input' } }), example } },
  }
}

/** A text body (`text/plain`, `text/event-stream`, ...) and an example of it. */
export function text(mediaType: string, example: string, description?: string) {
  return { [mediaType]: { schema: resolver(z.string().describe(description ?? mediaType)), example } }
}

/** An answer with a body (and, optionally, its headers). */
export function answer(description: string, content?: ContentWithResolver, headers?: Headers): Response {
  return { description, ...(content && { content }), ...(headers && { headers }) }
}

/** Response headers, all strings: name -> what it says. */
export function headers(described: Record<string, string>): Headers {
  return Object.fromEntries(
    Object.entries(described).map(([name, description]) => [
      name,
      { description, schema: { type: 'string' as const } },
    ]),
  )
}

/** Headers that come with an error status wherever it is answered. */
const ERROR_HEADERS: Record<string, Headers> = {
  401: headers({ 'WWW-Authenticate': '`Bearer`' }),
  416: headers({ 'Content-Range': '`bytes */711860`: the size' }),
  429: headers({ 'Retry-After': 'Seconds until the next minute window' }),
}

/** One error a route can answer: its code (docs/api.md's table) and a message it may carry. */
export type ErrorCase = readonly [code: string, message: string]

/**
 * Error answers by status, each `{ error, message }` with one named example per code (the codes
 * as docs/api.md lists them).
 */
export function errors(cases: Record<number, readonly ErrorCase[]>): Responses {
  return Object.fromEntries(
    Object.entries(cases).map(([status, list]) => [
      status,
      {
        description: list.map(([code]) => `\`${code}\``).join(', '),
        ...(ERROR_HEADERS[status] && { headers: ERROR_HEADERS[status] }),
        content: {
          'application/json': {
            schema: resolver(ErrorBodySchema),
            examples: Object.fromEntries(
              list.map(([error, message]) => [error, { value: { error, message } }]),
            ),
          },
        },
      },
    ]),
  )
}

/** The errors of a route that takes a key: 401 without a good one. */
export const KEY_ERRORS: Record<number, readonly ErrorCase[]> = {
  401: [['unauthorized', 'An API key is required: send Authorization: Bearer <key>']],
}

/** What any route may answer when it fails: Redis away (503), or a fault of ours (500). */
export const SERVICE_ERRORS: Record<number, readonly ErrorCase[]> = {
  500: [['internal_error', 'Internal server error']],
  503: [['unavailable', 'The job store is unavailable; try again shortly']],
}

/** REQUEST_TIMEOUT_MS: any request but an upload. */
export const TIMEOUT_ERRORS: Record<number, readonly ErrorCase[]> = {
  408: [['request_timeout', 'The request took longer than 10s']],
}

/** `security` of a route that needs no key (probes, the reference itself). */
export const NO_KEY: DescribeRouteOptions['security'] = []

/** The bearer scheme: API keys, when API_KEYS or ADMIN_API_KEYS is set. */
export const BEARER_SCHEME = {
  type: 'http',
  scheme: 'bearer',
  description:
    'An API key (one of API_KEYS, or of ADMIN_API_KEYS for /stats and /dlq), as `Authorization: Bearer <key>`. ' +
    'Needed only when the service has keys configured; without them every route is open.',
} as const

/** `GET /healthz` while Redis answers (503 with an error body when it does not). */
export const HealthSchema = z
  .object({ status: z.literal('ok') })
  .meta({ id: 'Health', examples: [{ status: 'ok' }] })

/**
 * hono-openapi's describeRoute as a middleware with no async frame of its own: it only hands on,
 * and runs in every request of its route (describeRoute's `async (c, next) => { await next() }`
 * is one promise more a request). The spec rides on it as on describeRoute's.
 */
export function documentRoute(spec: DescribeRouteOptions): MiddlewareHandler {
  const described = describeRoute(spec) as unknown as Record<symbol, unknown>
  const handOn: MiddlewareHandler = (_c, next) => next()
  return Object.assign(handOn, { [uniqueSymbol]: described[uniqueSymbol] })
}
/** `GET /healthz`, on ingest and status alike. */
export const healthzDoc = documentRoute({
  tags: ['Health and metrics'],
  summary: 'Health probe',
  description: '200 while Redis answers a PING within a second, 503 otherwise. No key needed.',
  security: NO_KEY,
  responses: {
    200: answer('Redis answers', json(HealthSchema)),
    ...errors({ 503: [['unavailable', 'Redis is not reachable']] }),
  },
})

/** `GET /metrics`, on ingest and status alike. */
export const metricsDoc = documentRoute({
  tags: ['Health and metrics'],
  summary: 'Prometheus metrics',
  description:
    "The service's metrics in Prometheus' text format (docs/api.md lists them). No API key needed; with " +
    'METRICS_TOKEN set, `Authorization: Bearer <METRICS_TOKEN>` (401 without it).',
  security: NO_KEY,
  responses: {
    200: answer(
      'The metrics',
      text(
        'text/plain',
        '# HELP video_uploads_total Uploads and URL imports received, by status (accepted or error code)\n# TYPE video_uploads_total counter\nvideo_uploads_total{status="accepted",service="ingest"} 42\n',
        "Prometheus' text exposition format",
      ),
    ),
    ...errors({
      401: [['unauthorized', 'The metrics need METRICS_TOKEN: send Authorization: Bearer <token>']],
    }),
  },
})
