export * from './job.ts'
export * from './job-store.ts'
