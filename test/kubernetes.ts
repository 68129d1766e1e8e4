/**
 * What test/kubernetes.test.ts needs of kustomize and kubeconform, neither of which can be
 * installed here: `render` builds a kustomization as `kubectl apply -k` does, and `validate`
 * checks objects against the JSON schemas vendored in deploy/kubernetes/schemas.
 *
 * The subset of kustomize supported, and nothing else (any other field of a kustomization is
 * refused by its schema, so no kustomization passes that this renders differently):
 * - `resources`: YAML files (every document in them) and directories with a kustomization.yaml,
 *   rendered first; two resources of one kind and name are an error, as in kustomize.
 * - `patches` with `path` only: a partial resource found by apiVersion, kind and name, merged in
 *   (maps key by key, null deletes, scalars replace). Patches holding lists are refused:
 *   kustomize merges some lists by key (containers by name), which this does not do.
 * - `namespace`: set on every resource; a Namespace resource is renamed to it.
 * - `replicas`: spec.replicas of the Deployment so named (an error when there is none).
 * - `images`: the image of every container and init container whose image name is `name`.
 * They run in kustomize's order: patches, namespace, replicas, images.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { Ajv, type AnySchema, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { parseAllDocuments } from 'yaml'

export const KUBERNETES_DIR = new URL('../deploy/kubernetes/', import.meta.url).pathname
const SCHEMAS = join(KUBERNETES_DIR, 'schemas')

export interface Resource {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
  }
  [field: string]: unknown
}

export interface Kustomization {
  apiVersion: string
  kind: string
  resources?: string[]
  namespace?: string
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>
  replicas?: Array<{ name: string; count: number }>
  patches?: Array<{ path: string }>
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

/** Every YAML document of a file, as plain data (a YAML error throws). */
export function readYaml(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`)
    const value = doc.toJS()
    return value === null || value === undefined ? [] : [value]
  })
}

const id = (r: Pick<Resource, 'apiVersion' | 'kind' | 'metadata'>) =>
  `${r.apiVersion} ${r.kind} ${r.metadata?.name}`

/** The resources `kubectl apply -k dir` would apply. `files` collects every file it read. */
export function render(dir: string, files = new Set<string>()): Resource[] {
  const file = join(dir, 'kustomization.yaml')
  files.add(file)
  const [kustomization] = readYaml(file) as [Kustomization]
  const problems = validate(kustomization as unknown as Resource)
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`)

  const resources: Resource[] = []
  for (const entry of kustomization.resources ?? []) {
    const path = resolve(dir, entry)
    const directory = statSync(path).isDirectory()
    if (!directory) files.add(path)
    const loaded = directory ? render(path, files) : (readYaml(path) as Resource[])
    for (const resource of loaded) {
      if (resources.some((r) => id(r) === id(resource))) throw new Error(`${file}: ${id(resource)} twice`)
      resources.push(resource)
    }
  }
  for (const { path } of kustomization.patches ?? []) {
    files.add(resolve(dir, path))
    const patches = readYaml(resolve(dir, path)) as Resource[]
    if (patches.length !== 1) throw new Error(`${path}: one patch a file`)
    const patch = patches[0] as Resource
    const target = resources.find((r) => id(r) === id(patch))
    if (!target) throw new Error(`${path}: no ${id(patch)} to patch`)
    Object.assign(target, merge(target as unknown as JsonObject, patch as unknown as JsonObject, path))
  }
  const namespace = kustomization.namespace
  if (namespace) {
    for (const resource of resources) {
      if (resource.kind === 'Namespace') resource.metadata.name = namespace
      else resource.metadata.namespace = namespace
    }
  }
  for (const { name, count } of kustomization.replicas ?? []) {
    const deployment = resources.find((r) => r.kind === 'Deployment' && r.metadata.name === name)
    if (!deployment) throw new Error(`${file}: replicas of ${name}, which is no Deployment`)
    ;(deployment.spec as JsonObject).replicas = count
  }
  for (const image of kustomization.images ?? []) {
    if (image.newTag && image.digest) throw new Error(`${file}: ${image.name} has both newTag and digest`)
    for (const container of podContainers(resources)) {
      const { name, tag } = parseImage(container.image)
      if (name !== image.name) continue
      const newName = image.newName ?? name
      container.image = image.digest
        ? `${newName}@${image.digest}`
        : image.newTag
          ? `${newName}:${image.newTag}`
          : `${newName}${tag}`
    }
  }
  return resources
}

/** `registry:5000/a/b:tag` -> name `registry:5000/a/b`, tag `:tag` (or `@digest`, or ''). */
export function parseImage(image: string): { name: string; tag: string } {
  const at = image.indexOf('@')
  if (at >= 0) return { name: image.slice(0, at), tag: image.slice(at) }
  const colon = image.lastIndexOf(':')
  return colon > image.lastIndexOf('/')
    ? { name: image.slice(0, colon), tag: image.slice(colon) }
    : { name: image, tag: '' }
}

/** The containers and init containers of every pod template. */
function podContainers(resources: Resource[]): Array<{ image: string }> {
  return resources.flatMap((r) => {
    const pod = (r.spec as { template?: { spec?: { containers?: []; initContainers?: [] } } } | undefined)
      ?.template?.spec
    return [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]
  })
}

function merge(target: JsonObject, patch: JsonObject, file: string): JsonObject {
  const out: JsonObject = { ...target }
  for (const [key, value] of Object.entries(patch)) {
    if (Array.isArray(value)) throw new Error(`${file}: ${key} is a list; list patches are not supported`)
    if (value === null) delete out[key]
    else if (
      typeof value === 'object' &&
      typeof out[key] === 'object' &&
      out[key] !== null &&
      !Array.isArray(out[key])
    )
      out[key] = merge(out[key] as JsonObject, value, file)
    else out[key] = value
  }
  return out
}

/** Every directory under overlays/. */
export function overlays(): string[] {
  const root = join(KUBERNETES_DIR, 'overlays')
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((path) => statSync(path).isDirectory())
}

/** A path for messages. */
export const shown = (path: string) => relative(join(KUBERNETES_DIR, '../..'), path)

/**
 * Strict, as `kubectl apply` is (it refuses unknown fields) and kubeconform's -strict: an object
 * schema with `properties` and no word on others allows no others.
 */
function strict(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(strict)
  if (schema === null || typeof schema !== 'object') return schema
  const out = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'enum' ? v : strict(v)]))
  if (out.properties && typeof out.properties === 'object' && !('additionalProperties' in out))
    out.additionalProperties = false
  return out
}

let validators: Map<string, ValidateFunction> | undefined

/** The schema file of an apiVersion and kind: `deployment-apps-v1.json`, `service-v1.json`. */
export function schemaFile(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion]
  return `${[kind.toLowerCase(), group?.split('.')[0], version].filter(Boolean).join('-')}.json`
}

/** What is wrong with `resource` by the schema of its kind (an empty list when nothing). */
export function validate(resource: Resource): string[] {
  if (!validators) {
    // The formats the Kubernetes schemas use: ajv-formats' (int32, int64, byte, date-time) and
    // a resource quantity, as @kubernetes-models/validate defines it.
    const ajv = new Ajv({ allErrors: true, strictTypes: false })
    const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv
    addFormats(ajv)
    ajv.addFormat(
      'quantity',
      /^[+-]?(?:\d+|\d+\.\d+|\d+\.|\.\d+)(?:[KMGTPE]i|[YZEPTGMkhdcmunpfazy]|da|[eE][+-]?(?:\d+|\d+\.\d+|\d+\.|\.\d+))?$/,
    )
    const files = readdirSync(SCHEMAS).filter((f) => f.endsWith('.json'))
    for (const f of files) {
      const schema = strict(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as Json) as JsonObject
      ajv.addSchema(schema as AnySchema, f)
    }
    validators = new Map(
      files.filter((f) => f !== '_definitions.json').map((f) => [f, ajv.getSchema(f) as ValidateFunction]),
    )
  }
  const file = schemaFile(String(resource?.apiVersion), String(resource?.kind))
  const check = validators.get(file)
  if (!check) return [`no schema ${file} for ${resource?.apiVersion} ${resource?.kind}`]
  if (check(resource)) return []
  // A field that may be null is `oneOf: [its schema, {type: null}]`: leave out the null branch's
  // complaint, and a oneOf's when a deeper error says what is wrong.
  const errors = (check.errors ?? []).filter((e) => !(e.keyword === 'type' && e.params.type === 'null'))
  return errors
    .filter(
      (e) => e.keyword !== 'oneOf' || !errors.some((o) => o.instancePath.startsWith(`${e.instancePath}/`)),
    )
    .map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`)
}
