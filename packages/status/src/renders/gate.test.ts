import { describe, expect, it } from 'vitest'
import { RenderGate } from './gate.ts'

/** A task that ends when `end()` is called. */
function task() {
  let end = () => {}
  const done = new Promise<void>((resolve) => {
    end = resolve
  })
  return { run: () => done, end: () => end() }
}

describe('RenderGate', () => {
  it('runs `concurrency` at once, queues `queue` more, refuses the rest with render_busy', async () => {
    const gate = new RenderGate(2, 1, 5000)
    const tasks = [task(), task(), task()]
    const runs = tasks.map((t) => gate.run(t.run))
    expect(gate.load).toEqual({ running: 2, waiting: 1 })
    await expect(gate.run(async () => 'x')).rejects.toMatchObject({
      code: 'render_busy',
      status: 503,
      headers: { 'Retry-After': '1' },
    })
    tasks[0]?.end()
    await runs[0]
    expect(gate.load).toEqual({ running: 2, waiting: 0 })
    tasks[1]?.end()
    tasks[2]?.end()
    await Promise.all(runs)
    expect(gate.load).toEqual({ running: 0, waiting: 0 })
  })

  it('gives up on a wait longer than waitMs', async () => {
    const gate = new RenderGate(1, 4, 50)
    const first = task()
    const running = gate.run(first.run)
    await expect(gate.run(async () => 'late')).rejects.toMatchObject({ code: 'render_busy' })
    expect(gate.load).toEqual({ running: 1, waiting: 0 })
    first.end()
    await running
    expect(await gate.run(async () => 'now')).toBe('now')
  })
})
