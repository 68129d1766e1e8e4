/**
 * The API contract, browser-safe (zod only): job schemas, API bodies and their examples,
 * transcoding profiles, statuses, event types and error codes. The client, the CLI and the
 * console import this entry (`@vpp/shared/api`); servers get it from the root too.
 */
export * from './api-bodies.ts'
export * from './captions.ts'
export * from './errors.ts'
export * from './events.ts'
export * from './examples.ts'
export * from './job.ts'
export * from './job-options.ts'
export * from './original.ts'
export * from './profiles.ts'
export * from './statuses.ts'
export * from './watermark-image.ts'
