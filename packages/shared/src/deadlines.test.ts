import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Deadlines } from './deadlines.ts'

describe('Deadlines', () => {
  let clock = 0
  beforeEach(() => {
    clock = 0
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })
  const tick = async (ms: number) => {
    clock += ms
    await vi.advanceTimersByTimeAsync(ms)
  }

  it('passes on what settles in time, fails what does not with its own error, in the order they fall due', async () => {
    const deadlines = new Deadlines(100, () => clock)
    let finish = (_value: string) => {}
    const quick = deadlines.within(
      new Promise<string>((resolve) => {
        finish = resolve
      }),
      () => new Error('quick'),
    )
    const failing = deadlines.within(Promise.reject(new Error('own')), () => new Error('late'))
    await expect(failing).rejects.toThrow('own')
    await tick(40)
    const slow = deadlines.within(new Promise<string>(() => {}), () => new Error('slow'))
    const slowFailed = expect(slow).rejects.toThrow('slow')
    finish('done')
    await expect(quick).resolves.toBe('done')
    await tick(70) // 110 ms: the slow one is 30 ms short
    expect(deadlines.size).toBe(1)
    await tick(40)
    await slowFailed
    expect(deadlines.size).toBe(0)
  })

  it('ignores what settles after its deadline, and stops its sweep when nothing is pending', async () => {
    const deadlines = new Deadlines(50, () => clock)
    let fail = (_error: Error) => {}
    const late = deadlines.within(
      new Promise<never>((_, reject) => {
        fail = reject
      }),
      () => new Error('timed out'),
    )
    const failed = expect(late).rejects.toThrow('timed out')
    await tick(60)
    await failed
    fail(new Error('too late')) // no unhandled rejection, no second outcome
    await tick(10)
    await tick(100)
    expect(vi.getTimerCount()).toBe(0)
  })
})
