import { AppError } from '@vpp/shared'
import { validator } from 'hono-openapi'
import { z } from 'zod'

/**
 * The query string checked against `schema`, which also describes its parameters in the OpenAPI
 * document (hono-openapi's validator). A bad one answers 400 `bad_request` with the message of
 * its first problem: each parameter's schema carries the message a client reads.
 */
export function validQuery<T extends z.ZodType>(schema: T) {
  return validator('query', schema, (result) => {
    if (!result.success) throw new AppError('bad_request', result.error[0]?.message ?? 'Bad query', 400)
  })
}

/** A query parameter read as its first value: `?limit=5&limit=6` is `?limit=5`. */
export const queryParam = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (Array.isArray(value) ? value[0] : value), schema)

/** `?limit=`: a whole number from 1 to `max`, `fallback` when absent; one message for any bad value. */
export function limitParam(max: number, fallback: number, description: string) {
  const error = `limit must be a whole number from 1 to ${max}`
  return queryParam(
    z.coerce
      .number({ error })
      .int({ error })
      .min(1, { error })
      .max(max, { error })
      .default(fallback)
      .describe(description)
      .meta({ examples: [fallback] }),
  )
}
