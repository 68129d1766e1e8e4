import { describe, expect, it } from 'vitest'
import { VppError } from './client-error.ts'
import { followJobEvents } from './job-events.ts'

const event = (type: string, id: string) =>
  `event: ${type}\nid: ${id}\ndata: ${JSON.stringify({ type, job_id: 'j1', status: 'x', at: '' })}\n\n`

/** A 200 SSE answer sending `text`, then ending (or failing, as a dropped connection does). */
function answer(text: string, drop: boolean): Response {
  let sent = false
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) controller.enqueue(new TextEncoder().encode(text))
      else if (drop) controller.error(new TypeError('terminated'))
      else controller.close()
      sent = true
    },
  })
  return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } })
}

describe('followJobEvents', () => {
  it('resumes a dropped stream after the last event seen, and ends after the final one', async () => {
    const asked: Array<string | undefined> = []
    const answers = [
      answer(event('job.queued', '1-0') + event('job.processing', '2-0'), true),
      new Response(JSON.stringify({ error: 'unavailable', message: 'Redis' }), { status: 503 }),
      answer(event('job.progress', '3-0'), false),
      answer(event('job.completed', '4-0') + event('job.deleted', '5-0'), false),
    ]
    const reconnects: number[] = []
    const seen: string[] = []
    for await (const e of followJobEvents(
      async (last) => {
        asked.push(last)
        const next = answers.shift()
        if (!next) throw new Error('asked once too often')
        return next
      },
      { retryDelays: [0, 0, 0], onReconnect: (attempt) => reconnects.push(attempt) },
    )) {
      seen.push(`${e.type} ${e.id}`)
    }
    expect(seen).toEqual(['job.queued 1-0', 'job.processing 2-0', 'job.progress 3-0', 'job.completed 4-0'])
    expect(asked).toEqual([undefined, '2-0', '2-0', '3-0'])
    // The count starts again after an event arrives.
    expect(reconnects).toEqual([1, 2, 1])
  })

  it('throws a 4xx at once, and the last error once the retries are spent', async () => {
    const notFound = () =>
      new Response(JSON.stringify({ error: 'not_found', message: 'Job j1 not found' }), { status: 404 })
    const first = followJobEvents(async () => notFound(), { retryDelays: [0, 0] })
    await expect(first.next()).rejects.toMatchObject({ status: 404, code: 'not_found' })

    let calls = 0
    const down = followJobEvents(
      async () => {
        calls++
        throw VppError.unreachable('http://127.0.0.1:1/jobs', new TypeError('fetch failed'))
      },
      { retryDelays: [0, 0] },
    )
    await expect(down.next()).rejects.toMatchObject({ code: 'unreachable' })
    expect(calls).toBe(3)
  })

  it('stops at once when its signal aborts', async () => {
    const controller = new AbortController()
    const never = followJobEvents(
      (_last, signal) =>
        new Promise<Response>((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        ),
      { signal: controller.signal },
    )
    const next = never.next()
    controller.abort(new Error('stop'))
    await expect(next).rejects.toThrow('stop')
  })
})
