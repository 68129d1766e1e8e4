import { encodeBase64Url } from 'hono/utils/encode'
import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'

/**
 * Secrets every process of a pipeline shares without being configured with one, kept in the
 * settings hash (`keys.config`, field `secret:{name}`): the first process to ask makes a random
 * one (HSETNX), every later one reads the same. Status signs its original URLs with it when no
 * MEDIA_SIGNING_SECRET is set (API keys off), so any replica checks what another signed.
 */
export class SharedSecrets {
  constructor(
    readonly redis: RedisCalls,
    readonly keys: RedisKeys,
  ) {}

  /** Secret `name` (`[a-z_]+`): 32 random bytes as base64url, the same for every caller. */
  async get(name: string): Promise<string> {
    if (!/^[a-z_]{1,32}$/.test(name)) throw new Error(`invalid secret name ${JSON.stringify(name)}`)
    const field = `secret:${name}`
    const fresh = encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)).buffer).replace(/=+$/, '')
    const [, secret] = (await this.redis.call(
      this.redis.client.multi().hSetNX(this.keys.config, field, fresh).hGet(this.keys.config, field).exec(),
    )) as [unknown, string]
    return secret
  }
}
