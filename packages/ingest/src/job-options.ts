import { AppError, type JobOptions, jobOptions, PROFILE_NAMES, zodMessage } from '@vpp/shared'
import { JobOptionFieldsSchema } from './openapi.ts'

/**
 * A new job's options from text fields (a multipart form's, a tus upload's metadata; null or
 * absent: not given), as the OpenAPI document declares them, then checked against the profile
 * table and the options' rules (400 bad_request naming what is wrong).
 */
export function optionFields(fields: Record<string, string | null | undefined>): JobOptions {
  const given = Object.fromEntries(Object.entries(fields).filter(([, value]) => value != null))
  const parsed = JobOptionFieldsSchema.safeParse(given)
  if (!parsed.success) throw new AppError('bad_request', zodMessage(parsed.error), 400)
  return jobOptions(parsed.data, PROFILE_NAMES)
}
