/** What `urlStorage` must be: tus-js-client's interface for remembering unfinished uploads. */
export type { PreviousUpload, UrlStorage } from 'tus-js-client'
export * from './client.ts'
export * from './client-error.ts'
export * from './format.ts'
export type { EventsOptions } from './job-events.ts'
export * from './render-urls.ts'
export * from './sse.ts'
export * from './types.ts'
export {
  DEFAULT_CHUNK_SIZE,
  type UploadOptions,
  type UploadProgress,
  type UploadResult,
  type UploadStart,
} from './upload.ts'
export type { NodeReadable, UploadSource } from './upload-sources.ts'
