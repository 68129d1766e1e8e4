import { z } from 'zod'
import { EVENT_TYPES } from './events.ts'
import { JOB_EXAMPLE } from './examples.ts'
import { JobSchema, OutputSchema } from './job.ts'

/**
 * The bodies of the status API's answers besides the job record, the stats and the dead-letter
 * list (job.ts): what the handlers send and the OpenAPI document describes.
 */

const JOB_ID = JOB_EXAMPLE.job_id

/** `GET /jobs`: a page of jobs, newest first, and the cursor of the next one. */
export const JobPageSchema = z
  .object({
    jobs: z.array(JobSchema),
    next_cursor: z.string().nullable().describe('Pass as `?cursor=` for the next page; null on the last one'),
  })
  .meta({ id: 'JobPage', examples: [{ jobs: [JOB_EXAMPLE], next_cursor: '118' }] })
export type JobPage = z.infer<typeof JobPageSchema>

/** `POST /jobs/{job_id}/cancel`: 202, also when it was canceled already. */
export const CancelResponseSchema = z
  .object({ job_id: z.string(), status: z.literal('canceled') })
  .meta({ id: 'CancelResponse', examples: [{ job_id: JOB_ID, status: 'canceled' }] })
export type CancelResponse = z.infer<typeof CancelResponseSchema>

/** `POST /dlq/{message_id}/retry`: 202, the job queued again. */
export const DlqRetryResponseSchema = z
  .object({
    job_id: z.string(),
    status: z.literal('queued'),
    message: z.literal('Job queued for another attempt'),
  })
  .meta({
    id: 'DlqRetryResponse',
    examples: [{ job_id: JOB_ID, status: 'queued', message: 'Job queued for another attempt' }],
  })
export type DlqRetryResponse = z.infer<typeof DlqRetryResponseSchema>

/** Whose target a delivery went to: the job's own `callback_url`, or one of WEBHOOK_URLS. */
export const DELIVERY_TARGETS = ['callback', 'operator'] as const
export type DeliveryTarget = (typeof DELIVERY_TARGETS)[number]

/** One webhook delivery attempt, as the webhook worker records it. */
export const DeliverySchema = z
  .object({
    event: z.enum(EVENT_TYPES),
    url: z
      .string()
      .describe(
        'Where it was sent. An operator target (admin keys only) without credentials, query or fragment',
      ),
    target: z
      .enum(DELIVERY_TARGETS)
      .describe(
        "`callback`: the job's own callback_url; `operator`: one of WEBHOOK_URLS, listed to admin keys only",
      ),
    attempt: z.number().int().positive(),
    status_code: z.number().int().nullable().describe("The receiver's HTTP status; null when none came"),
    error: z.string().nullable().describe('Why it did not count as delivered; null when it did'),
    at: z.iso.datetime(),
    webhook_id: z.string().describe('The `webhook-id` header: the same on every attempt of one delivery'),
  })
  .meta({ id: 'Delivery' })
export type Delivery = z.infer<typeof DeliverySchema>

/** `GET /jobs/{job_id}/deliveries`: the job's webhook attempts, oldest first (the last 100). */
export const DeliveryListSchema = z.object({ deliveries: z.array(DeliverySchema) }).meta({
  id: 'DeliveryList',
  examples: [
    {
      deliveries: [
        {
          event: 'job.completed',
          url: 'https://app.example/hooks/video',
          target: 'callback',
          attempt: 1,
          status_code: 500,
          error: 'HTTP 500',
          at: '2026-12-01T12:00:15.100Z',
          webhook_id: 'msg_1764590015000_0_0',
        },
      ],
    },
  ],
})
export type DeliveryList = z.infer<typeof DeliveryListSchema>

/**
 * The `data` of an event on the SSE streams: the event as the log has it (its owner and webhook
 * target left out), with `outputs` and `playback` as `GET /jobs/{job_id}` shows them (on
 * `job.completed`; on `job.playable`, `playback` with the HLS master alone).
 */
export const JobEventDataSchema = z
  .object({
    type: z.enum(EVENT_TYPES),
    job_id: z.string(),
    status: z.string().describe('The status it reports (`deleted` for job.deleted)'),
    at: z.iso.datetime(),
    progress: z.number().optional(),
    eta_seconds: z.number().optional(),
    error: z.string().optional(),
    error_code: z.string().optional(),
    next_attempt_at: z.string().optional(),
    outputs: z.array(OutputSchema).optional(),
    playback: JobSchema.shape.playback.describe(
      'On `job.completed`, as `GET /jobs/{job_id}` shows it; on `job.playable`, the HLS master alone (the rest null)',
    ),
  })
  .meta({ id: 'JobEventData' })
export type JobEventData = z.infer<typeof JobEventDataSchema>
