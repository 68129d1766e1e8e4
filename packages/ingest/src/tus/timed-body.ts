import { uploadStalled } from './answers.ts'

/**
 * `request` with its body held to the upload timeouts: nothing for `idleMs` or the whole body
 * past `totalMs` ends it (the tus handler stores what came, and the client resumes). `onAbort`
 * is told when the body stopped early (the client went away, or a timeout).
 */
export function timedBody(
  request: Request,
  idleMs: number,
  totalMs: number,
  onAbort: (why: 'client_aborted' | 'upload_timeout') => void,
): Request {
  if (!request.body) return request
  const source = request.body.getReader()
  const started = Date.now()
  let idle: ReturnType<typeof setTimeout> | undefined
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const stop = new Promise<'idle'>((resolve) => {
        idle = setTimeout(
          () => resolve('idle'),
          Math.min(idleMs, Math.max(1, totalMs - (Date.now() - started))),
        )
      })
      try {
        const next = await Promise.race([source.read(), stop])
        if (next === 'idle') {
          onAbort('upload_timeout')
          void source.cancel().catch(() => {})
          controller.error(uploadStalled())
          return
        }
        if (next.done) controller.close()
        else controller.enqueue(next.value)
      } catch (error) {
        onAbort('client_aborted')
        controller.error(error)
      } finally {
        clearTimeout(idle)
      }
    },
    cancel(reason) {
      clearTimeout(idle)
      return source.cancel(reason)
    },
  })
  return new Request(request, { body, duplex: 'half' } as RequestInit)
}
