/**
 * The contract's plain constants, without zod: job statuses, event types, profiles. For code
 * that must start fast or stay small (the CLI, the client, the console's bundle):
 * `@vpp/shared/api/constants`. The schemas are in `@vpp/shared/api`.
 */
export * from './events.ts'
export * from './profiles.ts'
export * from './statuses.ts'
