import { readFile } from 'node:fs/promises'
import Ajv2020 from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { Hono } from 'hono'
import type { z } from 'zod'

/**
 * Checks of an app's OpenAPI document, for the apps' openapi tests: its routes against the
 * app's, its examples against their schemas, its error codes against docs/api.md.
 */

// biome-ignore lint/suspicious/noExplicitAny: any app, whatever its Env
type AnyApp = Hono<any, any, any>
// biome-ignore lint/suspicious/noExplicitAny: a JSON document walked by hand
type Json = any

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** `/media/:first/:rest{.+}` -> `/media/{first}/{rest}`: Hono's patterns as OpenAPI paths. */
export const openApiPath = (path: string) =>
  path
    .split('/')
    .map((segment) => segment.replace(/^:([^{?]+)(\{.+\})?\??$/, '{$1}'))
    .join('/')

/** Every `METHOD /path` the app has a route for (middleware, `app.use`, aside). */
export function appOperations(app: AnyApp): string[] {
  const operations = app.routes
    .filter((route) => route.method !== 'ALL')
    .map((route) => `${route.method} ${openApiPath(route.path)}`)
  return [...new Set(operations)].sort()
}

/** Every `METHOD /path` of the document. */
export function documentedOperations(doc: Json): string[] {
  return Object.entries(doc.paths as Record<string, Json>)
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => METHODS.includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    )
    .sort()
}

/** Every operation of the document, with where it is. */
export function operations(doc: Json): Array<{ where: string; op: Json; method: string }> {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Json>)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op, method })),
  )
}

/** One example the document gives, and the schema it is an example of. */
export interface Example {
  where: string
  schema: Json
  value: unknown
  status?: number
}

/** The examples of one media type entry (`example`, or each of `examples`). */
function examplesOf(where: string, media: Json, status?: number): Example[] {
  const found: Example[] = []
  if (media.example !== undefined) found.push({ where, schema: media.schema, value: media.example, status })
  for (const [name, entry] of Object.entries((media.examples ?? {}) as Record<string, Json>)) {
    found.push({ where: `${where} (${name})`, schema: media.schema, value: entry.value, status })
  }
  return found
}

/** A body the document can give no example of: bytes. */
const isBinary = (schema: Json) => schema?.format === 'binary'

/**
 * Every example of the document: of each request and response body, parameter, and component
 * schema (`examples`). `missing`: the bodies without one (bytes aside).
 */
export function documentExamples(doc: Json): { examples: Example[]; missing: string[] } {
  const examples: Example[] = []
  const missing: string[] = []
  const body = (where: string, content: Record<string, Json> | undefined, status?: number) => {
    for (const [type, media] of Object.entries(content ?? {})) {
      const found = examplesOf(`${where} ${type}`, media, status)
      if (found.length === 0 && !isBinary(media.schema)) missing.push(`${where} ${type}`)
      examples.push(...found)
    }
  }
  for (const { where, op } of operations(doc)) {
    body(`${where} request`, op.requestBody?.content)
    for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
      body(`${where} ${status}`, response.content, Number(status))
    }
    for (const parameter of op.parameters ?? []) {
      if (parameter.example !== undefined) {
        examples.push({
          where: `${where} ${parameter.name}`,
          schema: parameter.schema,
          value: parameter.example,
        })
      }
    }
  }
  for (const [name, schema] of Object.entries((doc.components?.schemas ?? {}) as Record<string, Json>)) {
    for (const value of schema.examples ?? []) {
      examples.push({
        where: `components.schemas.${name}`,
        schema: { $ref: `#/components/schemas/${name}` },
        value,
      })
    }
  }
  return { examples, missing }
}

/**
 * The examples that do not validate: against the document's JSON Schema (Ajv, draft 2020-12,
 * OpenAPI 3.1's dialect), and against the zod schema of `zod` when the example's schema is that
 * component (`$ref: #/components/schemas/{name}`).
 */
export function invalidExamples(doc: Json, examples: Example[], zod: Record<string, z.ZodType>): string[] {
  const ajv = new Ajv2020.default({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addFormat('binary', true)
  ajv.addSchema({ $id: 'openapi.json', components: doc.components }, 'openapi.json')
  const problems: string[] = []
  for (const example of examples) {
    const schema = JSON.parse(
      JSON.stringify(example.schema ?? {}).replaceAll('"#/components/', '"openapi.json#/components/'),
    )
    const validate = ajv.compile(schema)
    if (!validate(example.value)) problems.push(`${example.where}: ${ajv.errorsText(validate.errors)}`)
    const component = /^#\/components\/schemas\/(.+)$/.exec(example.schema?.$ref ?? '')?.[1]
    const zodSchema = component ? zod[component] : undefined
    const parsed = zodSchema?.safeParse(example.value)
    if (parsed && !parsed.success)
      problems.push(`${example.where} (zod ${component}): ${parsed.error.message}`)
  }
  return problems
}

/** The error codes docs/api.md names (every `snake_case` word in backticks). */
export async function documentedCodes(): Promise<Set<string>> {
  const text = await readFile(new URL('../../../../docs/api.md', import.meta.url), 'utf8')
  return new Set([...text.matchAll(/`([a-z]+(?:_[a-z]+)*)`/g)].map((match) => match[1] as string))
}

/** The `src` and `href` of the page's scripts and stylesheets. */
export function pageAssets(html: string): string[] {
  const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]*)"/g)].map((m) => m[1] as string)
  const styles = [...html.matchAll(/<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]*)"/g)].map(
    (m) => m[1] as string,
  )
  return [...scripts, ...styles]
}

/** One error answer of the document: where, and the codes of its examples. */
export interface ErrorAnswer {
  where: string
  method: string
  /** The JSON body's schema; undefined for an answer without a body (HEAD). */
  schema: unknown
  codes: string[]
  hasBody: boolean
}

/** Every answer of status 400 or more in the document. */
export function errorAnswers(doc: Json): ErrorAnswer[] {
  return operations(doc).flatMap(({ where, op, method }) =>
    Object.entries((op.responses ?? {}) as Record<string, Json>)
      .filter(([status]) => Number(status) >= 400)
      .map(([status, response]) => {
        const media = response.content?.['application/json']
        const examples = Object.values((media?.examples ?? {}) as Record<string, Json>)
        return {
          where: `${where} ${status}`,
          method,
          schema: media?.schema,
          codes: examples.map((example) => example.value?.error),
          hasBody: response.content !== undefined,
        }
      }),
  )
}

/** Every answer of the document that has no description. */
export function undescribedAnswers(doc: Json): string[] {
  return operations(doc).flatMap(({ where, op }) =>
    Object.entries((op.responses ?? {}) as Record<string, Json>)
      .filter(([, response]) => !response.description)
      .map(([status]) => `${where} ${status}`),
  )
}

/**
 * What is wrong with the document's error answers: each must be `{ error, message }`
 * (ErrorBody) with an example per code, every code one of `codes`; HEAD answers, and those of
 * `bodiless` (`METHOD /path status`), carry no body.
 */
export function errorProblems(doc: Json, codes: ReadonlySet<string>, bodiless: string[] = []): string[] {
  return errorAnswers(doc).flatMap((answer) => {
    if (answer.method === 'head' || bodiless.includes(answer.where))
      return answer.hasBody ? [`${answer.where}: has a body`] : []
    const problems: string[] = []
    if (JSON.stringify(answer.schema) !== '{"$ref":"#/components/schemas/ErrorBody"}')
      problems.push(`${answer.where}: not an ErrorBody`)
    if (answer.codes.length === 0) problems.push(`${answer.where}: no example`)
    for (const code of answer.codes)
      if (!codes.has(code)) problems.push(`${answer.where}: unknown code ${code}`)
    return problems
  })
}
