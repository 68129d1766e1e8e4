/** The part of s3rver's API the tests use (the package ships no types). */
declare module 's3rver' {
  interface S3rverOptions {
    address?: string
    port?: number
    silent?: boolean
    directory: string
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>
  }
  export default class S3rver {
    constructor(options: S3rverOptions)
    run(): Promise<{ address: string; port: number }>
    close(): Promise<void>
    /** Koa's middleware stack (s3rver is a Koa app), composed when it starts. */
    middleware: Array<(ctx: never, next: () => Promise<void>) => Promise<void> | void>
    store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string }
  }
}
