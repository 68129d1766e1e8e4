/**
 * Where uploads go, as seen by the HTTP handlers: a runtime-neutral interface (the local-disk
 * implementation lives in `@vpp/shared/node`).
 */
export interface UploadSink {
  /** Append a chunk; resolves when it is safely handed to storage (back-pressure). */
  write(chunk: Uint8Array): Promise<void>
  /** The upload is complete: make it visible under its final name. */
  commit(): Promise<void>
  /** Drop what this sink wrote (after commit: the committed file). Safe to call twice. */
  abort(): Promise<void>
}

export interface UploadStorage {
  /** Start storing the upload of job `id`. Nothing is visible under the final name until commit. */
  create(id: string): Promise<UploadSink>
}
