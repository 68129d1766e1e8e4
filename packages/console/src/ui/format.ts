/** What the pages show of numbers and statuses. Pure. */
import { FINAL_STATUSES, JOB_STATUSES } from '@vpp/shared/api/constants'

export { formatBytes, formatDuration, formatResolution } from '@vpp/client'

/** 850 kb/s, 2.40 Mb/s. */
export function formatBitrate(bitsPerSecond: number | null | undefined): string {
  if (!bitsPerSecond) return '—'
  return bitsPerSecond < 1_000_000
    ? `${Math.round(bitsPerSecond / 1000)} kb/s`
    : `${(bitsPerSecond / 1_000_000).toFixed(2)} Mb/s`
}

/** A date and time in the reader's locale, or — for none. */
export function formatTime(iso: string | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—'
}

/** 1:05, 12:00:03: a player's clock. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const mm = String(Math.floor((s % 3600) / 60))
  const ss = String(s % 60).padStart(2, '0')
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`
}

/** Statuses a job may still leave by itself (cancel applies to these). */
export const LIVE_STATUSES = JOB_STATUSES.filter((status) => !FINAL_STATUSES.includes(status))

export const isLive = (status: string) => (LIVE_STATUSES as readonly string[]).includes(status)
