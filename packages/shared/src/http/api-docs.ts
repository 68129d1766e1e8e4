import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Env, Hono, MiddlewareHandler } from 'hono'
import { describeRoute, openAPIRouteHandler } from 'hono-openapi'
import { type Asset, assetResponse, makeAsset } from './assets.ts'
import { answer, BEARER_SCHEME, errors, NO_KEY, text } from './openapi.ts'

/** What the document says of the service. */
export interface ApiInfo {
  title: string
  version: string
  description: string
  /** Tags in the order the reference shows them, with what each groups. */
  tags: Array<{ name: string; description: string }>
}

/** The Swagger UI files the page loads, from the swagger-ui-dist package, by name. */
const ASSETS: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
}

let loading: Promise<Map<string, Asset>> | undefined

/**
 * The Swagger UI files, read from node_modules on the first request for one (node:fs/promises
 * and node:module, which Bun and Deno provide too) and kept, with their gzip (about a third).
 */
function swaggerUi(): Promise<Map<string, Asset>> {
  loading ??= (async () => {
    const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
    const files = new Map<string, Asset>()
    for (const [name, type] of Object.entries(ASSETS)) {
      files.set(name, await makeAsset(await readFile(join(dir, name)), type))
    }
    return files
  })().catch((error: unknown) => {
    loading = undefined // tried again on the next request
    throw error
  })
  return loading
}

/** Characters that would end the `<title>` or the inline script early. */
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

/**
 * The reference page: Swagger UI over `openapi.json`, every URL relative (the page works behind
 * a path prefix and offline: nothing is fetched from anywhere but this service). No online
 * validator badge (`validatorUrl: null`).
 */
function page(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
SwaggerUIBundle({ url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null })
</script>
</body>
</html>
`
}

const referenceDoc = (
  summary: string,
  description: string,
  responses: Parameters<typeof describeRoute>[0]['responses'],
) => describeRoute({ tags: ['Reference'], summary, description, security: NO_KEY, responses })

/**
 * `GET /openapi.json` (the OpenAPI 3.1 document of every route of `app`, from their
 * describeRoute declarations), `GET /docs` (an interactive reference of it) and the page's
 * files under `/docs/`. Open without a key, like /healthz: the reference says nothing a caller
 * could not learn from the docs, and a key is what it explains how to send. `limits`: the
 * app's request limits, as its other routes have them.
 */
export function mountApiDocs<E extends Env>(app: Hono<E>, info: ApiInfo, ...limits: MiddlewareHandler[]) {
  const document = openAPIRouteHandler(app, {
    documentation: {
      info: { title: info.title, version: info.version, description: info.description },
      tags: [...info.tags, { name: 'Reference', description: 'This document and its interactive page' }],
      // Every route takes a key when the service has keys, but those that say `security: []`.
      security: [{ bearer: [] }],
      components: { securitySchemes: { bearer: BEARER_SCHEME } },
    },
    // OPTIONS (tus) is part of the API; `/openapi.json` is a route, not a static file.
    excludeMethods: [],
    excludeStaticFile: false,
  })
  app.get(
    '/openapi.json',
    referenceDoc('This OpenAPI document', 'Every route of this service, its bodies, errors and examples.', {
      200: answer('The document', {
        'application/json': {
          schema: { type: 'object', description: 'An OpenAPI 3.1 document' },
          example: { openapi: '3.1.0', info: { title: info.title, version: info.version }, paths: {} },
        },
      }),
    }),
    ...limits,
    document,
  )
  app.get(
    '/docs',
    referenceDoc('Interactive reference', 'Swagger UI over /openapi.json, served by this service.', {
      200: answer('The page', text('text/html', page(info.title), 'An HTML page')),
    }),
    ...limits,
    (c) => c.html(page(info.title)),
  )
  app.get(
    '/docs/:file',
    describeRoute({
      tags: ['Reference'],
      summary: "The reference page's script and stylesheet",
      description: 'Swagger UI, from the swagger-ui-dist package; gzip when the client takes it.',
      security: NO_KEY,
      parameters: [
        { in: 'path', name: 'file', required: true, schema: { type: 'string', enum: Object.keys(ASSETS) } },
      ],
      responses: {
        200: answer('The file', {
          ...text(
            'text/javascript',
            '/*! For license information please see swagger-ui-bundle.js.LICENSE.txt */',
          ),
          ...text('text/css', '.swagger-ui{color:#3b4151}'),
        }),
        ...errors({ 404: [['not_found', 'No route for GET /docs/other.js']] }),
      },
    }),
    ...limits,
    async (c) => {
      const name = c.req.param('file')
      if (!Object.hasOwn(ASSETS, name)) return c.notFound()
      return assetResponse(c, (await swaggerUi()).get(name) as Asset, 'public, max-age=86400')
    },
  )
}
