/**
 * SickState: sick after SICK_AFTER_FAILURES infrastructure failures in a row, the gauge and the
 * probe every SICK_RETRY_MS until it passes, well again at once, and no probe after close.
 */
import { createLogger, createRegistry, createTranscoderMetrics } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import type { InfraFailure } from './health.ts'
import { SickState } from './sick-state.ts'

const logger = createLogger({ service: 'test', level: 'silent' })
const full: InfraFailure = { kind: 'disk_full', reason: 'disk full: No space left on device' }

function sickState(probe: () => Promise<InfraFailure | null>) {
  const metrics = createTranscoderMetrics(createRegistry('transcoder'))
  metrics.healthy.set(1)
  const config = { SICK_AFTER_FAILURES: 2, SICK_RETRY_MS: 50 }
  const gauge = async () => (await metrics.healthy.get()).values[0]?.value
  return { state: new SickState({ config, logger, metrics, probe }), gauge }
}

describe('SickState', () => {
  it('is sick after SICK_AFTER_FAILURES in a row, and a success between resets the count', async () => {
    const { state, gauge } = sickState(async () => full)
    expect(state.failed(full)).toBe(false)
    state.succeeded()
    expect(state.failed(full)).toBe(false)
    expect(state.sick).toBeNull()
    expect(state.failed(full)).toBe(true)
    expect(state.sick).toMatchObject({ kind: 'disk_full', reason: full.reason })
    expect(await gauge()).toBe(0)
    expect(state.failed(full)).toBe(true) // already sick: the job goes back too
    state.close()
  })

  it('probes until the probe passes, then is well again at once', async () => {
    let probes = 0
    const { state, gauge } = sickState(async () =>
      ++probes < 3 ? { ...full, reason: `still ${probes}` } : null,
    )
    const well = state.wellAgain()
    state.failed(full)
    state.failed(full)
    await new Promise((resolve) => setTimeout(resolve, 75))
    expect(state.sick?.reason).toBe('still 1') // the reason is what the probe found
    await well
    expect(probes).toBe(3)
    expect(state.sick).toBeNull()
    expect(await gauge()).toBe(1)
    // Counting starts again from none.
    expect(state.failed(full)).toBe(false)
  })

  it('probes no more once closed', async () => {
    let probes = 0
    const { state } = sickState(async () => {
      probes++
      return full
    })
    state.failed(full)
    state.failed(full)
    await new Promise((resolve) => setTimeout(resolve, 120))
    state.close()
    const seen = probes
    expect(seen).toBeGreaterThan(0)
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(probes).toBe(seen)
  })
})
