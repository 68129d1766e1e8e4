/**
 * deploy/kubernetes agrees with the schemas and with the code, offline and without kubectl: every
 * overlay is rendered as `kubectl apply -k` would (test/kubernetes.ts, the subset of kustomize
 * the manifests use) and each object validated against the vendored Kubernetes and KEDA schemas;
 * then every variable a pod gets is one its service reads (and its value parses), the ports,
 * probes, Services and scrape annotations are the services' ports, the KEDA triggers name the
 * stream and group of the configured key prefix and the Redis of REDIS_URL, the grace periods
 * cover SHUTDOWN_GRACE_MS, and the images are the Dockerfile's targets. (test/compose.test.ts
 * checks that /healthz answers 200 on each running service.)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig as ingestConfig, CONFIG_VARIABLES as ingestVariables } from '@vpp/ingest'
import { redisKeys } from '@vpp/shared'
import { tempDir } from '@vpp/shared/testing'
import { loadConfig as statusConfig, CONFIG_VARIABLES as statusVariables } from '@vpp/status'
import { loadConfig as transcoderConfig, CONFIG_VARIABLES as transcoderVariables } from '@vpp/transcoder'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  KUBERNETES_DIR,
  type Kustomization,
  overlays,
  parseImage,
  type Resource,
  readYaml,
  render,
  shown,
  validate,
} from './kubernetes.ts'

const ROOT = new URL('..', import.meta.url).pathname
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')

type Env = Record<string, string>
/** Each Deployment: the variables its service reads, its port, and the entry its image runs. */
const SERVICES = {
  ingest: {
    variables: ingestVariables,
    port: (env: Env) => ingestConfig(env).INGEST_PORT,
    entry: 'packages/ingest/src/serve.ts',
  },
  status: {
    variables: statusVariables,
    port: (env: Env) => statusConfig(env).STATUS_PORT,
    entry: 'packages/status/src/serve.ts',
  },
  webhooks: {
    variables: statusVariables,
    port: (env: Env) => statusConfig(env).WEBHOOK_METRICS_PORT,
    entry: 'packages/status/src/serve.webhooks.ts',
  },
  transcoder: {
    variables: transcoderVariables,
    port: (env: Env) => transcoderConfig(env).TRANSCODER_METRICS_PORT,
    entry: 'packages/transcoder/src/serve.ts',
  },
}
type Name = keyof typeof SERVICES
const NAMES = Object.keys(SERVICES) as Name[]
/** The HTTP APIs, reached through a Service; the workers are only scraped. */
const WITH_SERVICE: readonly Name[] = ['ingest', 'status']

interface Probe {
  httpGet?: { path: string; port: string | number }
}
interface Container {
  name: string
  image: string
  command?: string[]
  args?: string[]
  ports?: Array<{ name?: string; containerPort: number }>
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>
  env?: Array<{
    name: string
    value?: string
    valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } }
  }>
  readinessProbe?: Probe
  livenessProbe?: Probe
  lifecycle?: { preStop?: { exec?: { command: string[] } } }
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> }
  securityContext?: Record<string, unknown>
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>
}
interface PodSpec {
  containers: Container[]
  securityContext?: Record<string, unknown>
  terminationGracePeriodSeconds?: number
  automountServiceAccountToken?: boolean
  volumes?: Array<{ name: string; emptyDir?: { sizeLimit?: string } }>
}
interface Deployment extends Resource {
  spec: {
    replicas?: number
    selector: { matchLabels: Record<string, string> }
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> }
      spec: PodSpec
    }
  }
}
interface Trigger {
  type: string
  name?: string
  metadata: Record<string, string>
  authenticationRef?: { name: string; kind?: string }
}
interface ScaledObject extends Resource {
  spec: {
    scaleTargetRef: { name: string; kind?: string }
    minReplicaCount?: number
    maxReplicaCount?: number
    cooldownPeriod?: number
    triggers: Trigger[]
  }
}

const find = <T extends Resource>(resources: Resource[], kind: string, name: string) => {
  const found = resources.find((r) => r.kind === kind && r.metadata.name === name)
  if (!found) throw new Error(`no ${kind} ${name}`)
  return found as T
}
const containerOf = (d: Deployment): Container => {
  expect(d.spec.template.spec.containers, d.metadata.name).toHaveLength(1)
  return d.spec.template.spec.containers[0] as Container
}
/** A Secret's values, from stringData or (base64) data. */
const secretValues = (s: Resource): Env => ({
  ...Object.fromEntries(
    Object.entries((s.data ?? {}) as Env).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  ),
  ...((s.stringData ?? {}) as Env),
})

/** The environment a Deployment's container gets, as Kubernetes resolves it. */
function environment(resources: Resource[], d: Deployment): Env {
  const container = containerOf(d)
  const env: Env = {}
  for (const from of container.envFrom ?? []) {
    if (!from.configMapRef) throw new Error(`${d.metadata.name}: only configMapRef in envFrom`)
    Object.assign(env, find(resources, 'ConfigMap', from.configMapRef.name).data)
  }
  for (const { name, value, valueFrom } of container.env ?? []) {
    if (value !== undefined) env[name] = value
    else if (valueFrom?.secretKeyRef) {
      const { name: secret, key, optional } = valueFrom.secretKeyRef
      const values = secretValues(find(resources, 'Secret', secret))
      if (!(key in values) && optional) continue
      if (!(key in values)) throw new Error(`${d.metadata.name}: Secret ${secret} has no key ${key}`)
      env[name] = values[key] as string
    } else throw new Error(`${d.metadata.name}: ${name} has neither value nor secretKeyRef`)
  }
  return env
}

/** `500m` -> 0.5, `4` -> 4 (cores). */
const cores = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q))
/** `10Gi` -> bytes. */
function bytes(q: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q)
  if (!match) throw new Error(`not a size: ${q}`)
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }
  return Number(match[1]) * (match[2] ? unit[match[2] as keyof typeof unit] : 1)
}
/** Seconds a preStop `sleep N` takes (0 without one). */
const preStopSeconds = (c: Container) => {
  const command = c.lifecycle?.preStop?.exec?.command
  if (!command) return 0
  expect(command[0], c.name).toBe('sleep')
  return Number(command[1])
}
/** A probe's or Service's named port as a number. */
const portNumber = (c: Container, port: string | number | undefined) =>
  typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v)

describe('deploy/kubernetes', () => {
  it('renders the base and every overlay, each object and kustomization valid by its schema, every file used', () => {
    const used = new Set<string>()
    const dirs = [join(KUBERNETES_DIR, 'base'), ...overlays()]
    expect(dirs.length).toBeGreaterThan(1)
    for (const dir of dirs) {
      for (const resource of render(dir, used)) {
        expect(validate(resource), `${shown(dir)}: ${resource.kind} ${resource.metadata.name}`).toEqual([])
      }
    }
    // No YAML file goes unchecked: each is a kustomization, a resource or a patch of one.
    const yamlFiles = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name)
        return statSync(path).isDirectory() ? yamlFiles(path) : /\.ya?ml$/.test(name) ? [path] : []
      })
    const unused = yamlFiles(KUBERNETES_DIR).filter((f) => !used.has(f))
    expect(unused.map(shown)).toEqual([])
  })

  it('refuses what kubectl would refuse, and kustomizations the renderer does not render as kustomize does', async () => {
    const [deployment] = render(join(KUBERNETES_DIR, 'base')).filter((r) => r.kind === 'Deployment')
    const broken = structuredClone(deployment) as Deployment
    ;(broken.spec.template.spec.containers[0] as unknown as Record<string, unknown>).imagePullPolcy = 'Always'
    expect(validate(broken).join()).toContain('imagePullPolcy')
    const replicas = structuredClone(deployment) as Deployment
    ;(replicas.spec as Record<string, unknown>).replicas = '2'
    expect(validate(replicas).join()).toContain('/spec/replicas must be integer')
    expect(validate({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })).toEqual([
      'no schema pod-v1.json for v1 Pod',
    ])
    const commonLabels = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      commonLabels: {},
    }
    expect(validate(commonLabels as unknown as Resource).join()).toContain('commonLabels')

    // A patch holding a list (containers are merged by name in kustomize, not here).
    const dir = await tempDir('vpp-kustomize-')
    try {
      await writeFile(
        join(dir.path, 'kustomization.yaml'),
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [${JSON.stringify(join(KUBERNETES_DIR, 'base'))}]\npatches: [{path: patch.yaml}]\n`,
      )
      await writeFile(
        join(dir.path, 'patch.yaml'),
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ingest}\nspec: {template: {spec: {containers: [{name: ingest, image: x}]}}}\n',
      )
      expect(() => render(dir.path)).toThrow(/containers is a list/)
    } finally {
      await dir.remove()
    }
  })
})

for (const overlay of overlays()) {
  describe(shown(overlay), () => {
    let resources: Resource[]
    let kustomization: Kustomization
    const deployment = (name: Name) => find<Deployment>(resources, 'Deployment', name)
    const env = (name: Name) => environment(resources, deployment(name))

    beforeAll(() => {
      resources = render(overlay)
      kustomization = readYaml(join(overlay, 'kustomization.yaml'))[0] as Kustomization
    })

    it('gives each pod only variables its service reads, with values its config accepts', () => {
      expect(resources.filter((r) => r.kind === 'Deployment').map((d) => d.metadata.name)).toEqual(
        expect.arrayContaining(NAMES),
      )
      for (const name of NAMES) {
        const values = env(name)
        const unknown = Object.keys(values).filter((key) => !SERVICES[name].variables.includes(key))
        expect(unknown, name).toEqual([])
        expect(() => SERVICES[name].port(values), name).not.toThrow()
        // Pods on several nodes share no disk: the bucket, named.
        expect(values.STORAGE_BACKEND, name).toBe('s3')
        expect(values.S3_BUCKET, name).toMatch(/^[a-z0-9][a-z0-9.-]+$/)
        expect(values.DATA_DIR, name).toBe('/data')
      }
      // With the keys filled in, as docs/kubernetes.md asks: status and the webhook worker both
      // get the signing secret they then require.
      const keys = {
        API_KEYS: 'k'.repeat(24),
        ADMIN_API_KEYS: 'a'.repeat(24),
        MEDIA_SIGNING_SECRET: 's'.repeat(32),
        WEBHOOK_URLS: 'https://hooks.example.com/in',
        WEBHOOK_SECRET: `whsec_${Buffer.alloc(24).toString('base64')}`,
        METRICS_TOKEN: 'm'.repeat(24),
      }
      for (const name of NAMES) {
        const filled = Object.fromEntries(
          Object.entries(env(name)).map(([k, v]) => [k, k in keys ? keys[k as keyof typeof keys] : v]),
        )
        expect(() => SERVICES[name].port(filled), name).not.toThrow()
      }
      expect(Object.keys(env('status'))).toContain('MEDIA_SIGNING_SECRET')
      expect(Object.keys(env('webhooks'))).toEqual(
        expect.arrayContaining(['MEDIA_SIGNING_SECRET', 'WEBHOOK_SECRET']),
      )
    })

    it("passes METRICS_TOKEN to every pod from the Secret, optional, as /metrics' bearer token", () => {
      for (const name of NAMES) {
        const entry = containerOf(deployment(name)).env?.find((e) => e.name === 'METRICS_TOKEN')
        expect(entry?.valueFrom?.secretKeyRef, name).toEqual({
          name: 'vpp',
          key: 'METRICS_TOKEN',
          optional: true,
        })
        // Empty as shipped: /metrics is open, as the scrape annotations expect.
        expect(env(name).METRICS_TOKEN, name).toBe('')
        expect(SERVICES[name].variables, name).toContain('METRICS_TOKEN')
      }
    })

    it('listens, probes, serves and is scraped on each service default port', () => {
      for (const name of NAMES) {
        const container = containerOf(deployment(name))
        const port = SERVICES[name].port(env(name))
        expect(port, `${name}: the default port`).toBe(SERVICES[name].port({}))
        expect(
          container.ports?.map((p) => p.containerPort),
          name,
        ).toEqual([port])
        for (const probe of [container.readinessProbe, container.livenessProbe]) {
          expect(probe?.httpGet?.path, name).toBe('/healthz')
          expect(portNumber(container, probe?.httpGet?.port), name).toBe(port)
        }
        const annotations = deployment(name).spec.template.metadata.annotations ?? {}
        expect(annotations, name).toMatchObject({
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': String(port),
          'prometheus.io/path': '/metrics',
        })
        const services = resources.filter(
          (r) =>
            r.kind === 'Service' &&
            matches(
              (r.spec as { selector: Record<string, string> }).selector,
              deployment(name).spec.template.metadata.labels,
            ),
        )
        if (!WITH_SERVICE.includes(name)) {
          expect(services, name).toEqual([])
          continue
        }
        expect(
          services.map((s) => s.metadata.name),
          name,
        ).toEqual([name])
        const ports = (
          services[0] as unknown as { spec: { ports: Array<{ port: number; targetPort: string | number }> } }
        ).spec.ports
        expect(
          ports.map((p) => [p.port, portNumber(container, p.targetPort)]),
          name,
        ).toEqual([[port, port]])
      }
    })

    it('runs every pod as the image user, non-root, read-only, within requests and limits, with a PodDisruptionBudget', () => {
      expect(dockerfile).toMatch(/^USER node$/m)
      for (const name of NAMES) {
        const d = deployment(name)
        const pod = d.spec.template.spec
        const container = containerOf(d)
        expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), name).toBe(true)
        // The restricted Pod Security Standard, and uid 1000 (`node` in the node images).
        expect(pod.securityContext, name).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 1000,
          runAsGroup: 1000,
          seccompProfile: { type: 'RuntimeDefault' },
        })
        expect(container.securityContext, name).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        })
        expect(pod.automountServiceAccountToken, name).toBe(false)
        for (const kind of ['requests', 'limits'] as const) {
          expect(Object.keys(container.resources?.[kind] ?? {}).sort(), `${name} ${kind}`).toEqual([
            'cpu',
            'memory',
          ])
        }
        // The writable places: /tmp everywhere (tsx's cache, tus's parts), /data for the
        // transcoders' scratch space, each an emptyDir.
        const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.mountPath, m.name]))
        expect(Object.keys(mounts).sort(), name).toEqual(name === 'transcoder' ? ['/data', '/tmp'] : ['/tmp'])
        for (const volume of Object.values(mounts)) {
          expect(
            pod.volumes?.find((v) => v.name === volume)?.emptyDir?.sizeLimit,
            `${name} ${volume}`,
          ).toBeDefined()
        }
        const budgets = resources.filter(
          (r) =>
            r.kind === 'PodDisruptionBudget' &&
            matches((r.spec as Deployment['spec']).selector.matchLabels, d.spec.template.metadata.labels),
        )
        expect(
          budgets.map((b) => b.spec),
          name,
        ).toEqual([expect.objectContaining({ maxUnavailable: 1 })])
      }
    })

    it('sizes ffmpeg and the scratch space of the transcoders by their limits', () => {
      const config = transcoderConfig(env('transcoder'))
      const container = containerOf(deployment('transcoder'))
      const limit = cores(container.resources?.limits?.cpu ?? '0')
      // Unset, ffmpeg's threads would follow the node's cores rather than the CPU limit.
      expect(env('transcoder').FFMPEG_THREADS).toBeDefined()
      expect(config.threads * config.WORKER_CONCURRENCY).toBeLessThanOrEqual(limit)
      // Each running job's upload and renditions: room for two of the largest upload.
      const data = deployment('transcoder').spec.template.spec.volumes?.find((v) => v.name === 'data')
      expect(bytes(data?.emptyDir?.sizeLimit ?? '0')).toBeGreaterThanOrEqual(
        2 * config.WORKER_CONCURRENCY * config.MAX_FILE_SIZE,
      )
    })

    it('stops pods within their grace periods: transcoders outlive SHUTDOWN_GRACE_MS', () => {
      for (const name of NAMES) {
        const pod = deployment(name).spec.template.spec
        const grace = pod.terminationGracePeriodSeconds ?? 30
        expect(preStopSeconds(containerOf(deployment(name))), name).toBeLessThan(grace)
      }
      const pod = deployment('transcoder').spec.template.spec
      const { SHUTDOWN_GRACE_MS } = transcoderConfig(env('transcoder'))
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
        SHUTDOWN_GRACE_MS / 1000 + preStopSeconds(containerOf(deployment('transcoder'))),
      )
    })

    it("scales the transcoders with KEDA on the jobs stream and group of the key prefix, through REDIS_URL's Redis", () => {
      const transcoder = deployment('transcoder')
      // KEDA owns the count: an apply must not reset it.
      expect(transcoder.spec.replicas).toBeUndefined()
      expect(kustomization.replicas?.map((r) => r.name)).not.toContain('transcoder')
      const scaled = resources.filter((r) => r.kind === 'ScaledObject') as ScaledObject[]
      expect(scaled.map((s) => s.spec.scaleTargetRef)).toEqual([{ name: 'transcoder' }])
      const { spec } = scaled[0] as ScaledObject
      expect(spec.minReplicaCount).toBeGreaterThanOrEqual(0)
      expect(spec.maxReplicaCount).toBeGreaterThanOrEqual(Math.max(1, spec.minReplicaCount ?? 0))

      const config = transcoderConfig(env('transcoder'))
      const keys = redisKeys(config.REDIS_KEY_PREFIX)
      // The default prefix: `vpp:jobs`, group `transcoders`.
      expect(transcoderConfig({}).REDIS_KEY_PREFIX).toBe('vpp')
      for (const trigger of spec.triggers) {
        expect(trigger.type).toBe('redis-streams')
        expect(trigger.metadata.stream).toBe(keys.stream)
      }
      const lag = spec.triggers.filter((t) => 'lagCount' in t.metadata)
      const length = spec.triggers.filter((t) => 'streamLength' in t.metadata)
      expect([lag.length, length.length, spec.triggers.length]).toEqual([1, 1, 2])
      // Waiting jobs, by the group's lag; a single one wakes the transcoders from zero (#6478).
      expect(lag[0]?.metadata).toMatchObject({ consumerGroup: keys.group, activationLagCount: '0' })
      // Waiting and running jobs, by the stream's length: KEDA reads XLEN only without a group.
      expect(length[0]?.metadata.consumerGroup).toBeUndefined()
      expect(length[0]?.metadata.activationLagCount ?? '0').toBe('0')
      // A pod more per WORKER_CONCURRENCY jobs.
      expect(lag[0]?.metadata.lagCount).toBe(String(config.WORKER_CONCURRENCY))
      expect(length[0]?.metadata.streamLength).toBe(String(config.WORKER_CONCURRENCY))
      // A job waiting for its retry is queued again by a transcoder still up.
      expect((spec.cooldownPeriod ?? 300) * 1000).toBeGreaterThan(config.RETRY_MAX_MS)

      // KEDA reaches the Redis of REDIS_URL: same host, port, password, database, TLS.
      const url = new URL(config.REDIS_URL)
      for (const trigger of spec.triggers) {
        expect(trigger.metadata.databaseIndex ?? '0').toBe(url.pathname.slice(1) || '0')
        expect(trigger.metadata.address).toBeUndefined()
        const auth = find(resources, 'TriggerAuthentication', trigger.authenticationRef?.name ?? '')
        const refs = (
          auth.spec as { secretTargetRef: Array<{ parameter: string; name: string; key: string }> }
        ).secretTargetRef
        const param = (p: string) => {
          const ref = refs.find((r) => r.parameter === p)
          return ref && secretValues(find(resources, 'Secret', ref.name))[ref.key]
        }
        expect(param('address')).toBe(`${url.hostname}:${url.port || 6379}`)
        expect(param('password') ?? '').toBe(decodeURIComponent(url.password))
        expect(param('tls') ?? (trigger.metadata.enableTLS === 'true' ? 'enable' : undefined)).toBe(
          url.protocol === 'rediss:' ? 'enable' : undefined,
        )
      }
    })

    it('runs the Dockerfile target of each service, under the name the overlay retags', () => {
      const stages = dockerfile.split(/^FROM /m)
      const base = render(join(KUBERNETES_DIR, 'base'))
      for (const name of NAMES) {
        const image = containerOf(find<Deployment>(base, 'Deployment', name)).image
        expect(image, name).toBe(`video-pipeline/${name}`)
        const stage = stages.find((s) => new RegExp(`AS ${name}\\b`).test(s.split('\n')[0] ?? ''))
        expect(stage, name).toBeDefined()
        expect(/^CMD (.*)$/m.exec(stage ?? '')?.[1], name).toContain(SERVICES[name].entry)
        // The stage's CMD runs: no command or args of the pod's own.
        const container = containerOf(deployment(name))
        expect([container.name, container.command, container.args], name).toEqual([
          name,
          undefined,
          undefined,
        ])
        expect(parseImage(container.image).name.split('/').at(-1), name).toBe(name)
      }
      // Every `images` entry names an image in use (a misspelt one would change nothing).
      const inUse = NAMES.map(
        (n) => parseImage(containerOf(find<Deployment>(base, 'Deployment', n)).image).name,
      )
      for (const entry of kustomization.images ?? []) expect(inUse).toContain(entry.name)
    })
  })
}
