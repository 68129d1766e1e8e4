/**
 * The services talk to Redis through the typed stores of `@vpp/shared` (JobStore, TusRecords,
 * WebhookDeliveries, ...), never by reaching into a store's connection: no `store.client` or
 * `store.redis` in the production code of ingest, status, transcoder, the CLI, the client or the
 * console. The stores own the key names and the Lua; a service that sent its own commands would
 * be a second copy of that contract.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVICES = ['ingest', 'status', 'transcoder', 'cli', 'client', 'console']
const RAW = /\bstore\??\.(client|redis)\b/

/** `file:line: text` for every line of `source` reaching into a store's connection. */
function rawRedisLines(file: string, source: string): string[] {
  return source
    .split('\n')
    .flatMap((line, i) =>
      RAW.test(line) && !/^(\/\/|\/\*|\*)/.test(line.trimStart()) ? [`${file}:${i + 1}: ${line.trim()}`] : [],
    )
}

function productionFiles(pkg: string): string[] {
  const dir = join(ROOT, 'packages', pkg, 'src')
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
    .map((f) => join('packages', pkg, 'src', f))
}

describe('no raw Redis in the services', () => {
  it('finds a store connection used directly', () => {
    const sample =
      'await ctx.store.redis.call(ctx.store.client.get(key))\n// store.client in a comment\n * or `store.redis` in a doc comment\nstore.get(id)'
    expect(rawRedisLines('x.ts', sample)).toEqual([
      'x.ts:1: await ctx.store.redis.call(ctx.store.client.get(key))',
    ])
  })

  it('has none in ingest, status, transcoder, cli, client or console', () => {
    const found = SERVICES.flatMap(productionFiles).flatMap((file) =>
      rawRedisLines(file, readFileSync(join(ROOT, file), 'utf8')),
    )
    expect(found, 'use a typed store method (packages/shared/src/store) instead').toEqual([])
  })
})
