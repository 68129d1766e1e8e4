/**
 * Writes deploy/kubernetes/schemas/: the JSON schemas test/kubernetes.test.ts validates the
 * manifests against, taken from npm packages (no other registry is reachable here).
 *
 *   npx tsx scripts/vendor-kubernetes-schemas.ts
 *
 * kubernetes-models 4.3.1 (the Kubernetes 1.27 OpenAPI definitions) and @kubernetes-models/keda
 * 0.3.2 (KEDA's CRD schemas, of a 2.x release before 2.12: no scalingModifiers) are the last
 * releases that ship their schemas as JSON literals (later ones ship compiled validators only).
 * Each module registers its schema through `@kubernetes-models/validate`'s `register(id,
 * schema)`; a stand-in for that package records them. Written out in the layout of
 * kubernetes-json-schema's `-local` flavour (kubeconform reads it): `_definitions.json` holds
 * every definition the kinds below reach, `<kind>-<group>-<version>.json` one kind each, their
 * `$ref`s pointing into `_definitions.json`. Only the kinds the manifests use are written. The
 * kustomization schema (kustomization-kustomize-v1beta1.json) is not from a package, none ships
 * one: it is written by hand, for the fields test/kubernetes.ts renders, and left alone here.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const OUT = new URL('../deploy/kubernetes/schemas/', import.meta.url).pathname
const PACKAGES = {
  'kubernetes-models': '4.3.1',
  '@kubernetes-models/apimachinery': '1.2.2',
  '@kubernetes-models/keda': '0.3.2',
}
/** File name -> the module (in its package) that registers the kind, and the id it registers. */
const KINDS: Record<string, { module: string; id: string }> = {
  'deployment-apps-v1.json': {
    module: 'kubernetes-models/_schemas/IoK8sApiAppsV1Deployment.js',
    id: 'io.k8s.api.apps.v1.Deployment',
  },
  'service-v1.json': {
    module: 'kubernetes-models/_schemas/IoK8sApiCoreV1Service.js',
    id: 'io.k8s.api.core.v1.Service',
  },
  'configmap-v1.json': {
    module: 'kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap.js',
    id: 'io.k8s.api.core.v1.ConfigMap',
  },
  'secret-v1.json': {
    module: 'kubernetes-models/_schemas/IoK8sApiCoreV1Secret.js',
    id: 'io.k8s.api.core.v1.Secret',
  },
  'namespace-v1.json': {
    module: 'kubernetes-models/_schemas/IoK8sApiCoreV1Namespace.js',
    id: 'io.k8s.api.core.v1.Namespace',
  },
  'poddisruptionbudget-policy-v1.json': {
    module: 'kubernetes-models/_schemas/IoK8sApiPolicyV1PodDisruptionBudget.js',
    id: 'io.k8s.api.policy.v1.PodDisruptionBudget',
  },
  'scaledobject-keda-v1alpha1.json': {
    module: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject.js',
    id: 'keda.sh.v1alpha1.ScaledObject',
  },
  'triggerauthentication-keda-v1alpha1.json': {
    module: '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication.js',
    id: 'keda.sh.v1alpha1.TriggerAuthentication',
  },
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const work = mkdtempSync(join(tmpdir(), 'vpp-k8s-schemas-'))
try {
  const modules = join(work, 'node_modules')
  for (const [name, version] of Object.entries(PACKAGES)) {
    const tarball = execFileSync('npm', ['pack', `${name}@${version}`, '--silent'], { cwd: work })
      .toString()
      .trim()
    mkdirSync(join(modules, name), { recursive: true })
    execFileSync('tar', ['xzf', join(work, tarball), '-C', join(modules, name), '--strip-components=1'])
  }
  // Stand-ins: `register` records each schema; the models' base classes are not needed.
  const registered = new Map<string, Json>()
  const stub = (name: string, body: string) => {
    mkdirSync(join(modules, name), { recursive: true })
    writeFileSync(join(modules, name, 'index.js'), body)
  }
  stub(
    '@kubernetes-models/validate',
    'exports.register = (id, schema) => globalThis.__vppSchemas.set(id, schema)',
  )
  stub(
    '@kubernetes-models/base',
    'exports.Model = class {}; exports.createTypeMetaGuard = () => () => false; exports.setSchema = (_c, _id, add) => add()',
  )
  stub('tslib', '')
  ;(globalThis as { __vppSchemas?: Map<string, Json> }).__vppSchemas = registered
  const require = createRequire(join(work, 'index.js'))
  for (const { module } of Object.values(KINDS)) {
    const loaded = require(join(modules, module)) as { addSchema?: () => void }
    loaded.addSchema?.()
  }

  /** `io.k8s.api.core.v1.PodSpec#` -> the definition's place in _definitions.json. */
  const rewrite = (node: Json, prefix: string): Json => {
    if (Array.isArray(node)) return node.map((n) => rewrite(n, prefix))
    if (node === null || typeof node !== 'object') return node
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) =>
        key === '$ref' && typeof value === 'string'
          ? [key, `${prefix}#/definitions/${value.replace(/#$/, '')}`]
          : [key, rewrite(value, prefix)],
      ),
    )
  }
  /** Every id `schema` refers to, directly or through others. */
  const reached = new Set<string>()
  const visit = (node: Json) => {
    if (Array.isArray(node)) return node.forEach(visit)
    if (node === null || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const id = value.replace(/#$/, '')
        if (reached.has(id)) continue
        const target = registered.get(id)
        if (target === undefined) throw new Error(`unresolved $ref ${value}`)
        reached.add(id)
        visit(target)
      } else visit(value)
    }
  }

  mkdirSync(OUT, { recursive: true })
  const source = (id: string) =>
    id.startsWith('keda.sh')
      ? `@kubernetes-models/keda ${PACKAGES['@kubernetes-models/keda']} (KEDA's CRD)`
      : `kubernetes-models ${PACKAGES['kubernetes-models']} (Kubernetes 1.27)`
  for (const [file, { id }] of Object.entries(KINDS)) {
    const schema = registered.get(id)
    if (schema === undefined || schema === null || typeof schema !== 'object' || Array.isArray(schema))
      throw new Error(`${id} was not registered`)
    visit(schema)
    const kind = {
      $comment: `${id}, from ${source(id)}; written by scripts/vendor-kubernetes-schemas.ts`,
      ...(rewrite(schema, '_definitions.json') as Record<string, Json>),
    }
    writeFileSync(join(OUT, file), `${JSON.stringify(kind, null, 2)}\n`)
  }
  const definitions = Object.fromEntries(
    [...reached].sort().map((id) => [id, rewrite(registered.get(id) ?? null, '')]),
  )
  writeFileSync(
    join(OUT, '_definitions.json'),
    `${JSON.stringify(
      {
        $comment: `The definitions the kinds of this folder reach, from ${source('io')} and @kubernetes-models/apimachinery ${PACKAGES['@kubernetes-models/apimachinery']}; written by scripts/vendor-kubernetes-schemas.ts`,
        definitions,
      },
      null,
      2,
    )}\n`,
  )
  console.log(`${OUT}: ${readdirSync(OUT).join(', ')} (${reached.size} definitions)`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
