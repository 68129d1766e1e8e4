/**
 * The header's stats (`GET /stats`, every 3 s and on each page change): queue, processing, done, failed, dead letters and
 * the rate. With keys on they need an admin key; other keys see none.
 */
import { type Stats, type VppClient, VppError } from '@vpp/client'
import { useEffect, useState } from 'preact/hooks'

export function StatsBar({ client }: { client: VppClient }) {
  const [stats, setStats] = useState<Stats>()
  const [hidden, setHidden] = useState(false)
  useEffect(() => {
    let stopped = false
    const read = () =>
      client.stats().then(
        (s) => !stopped && setStats(s),
        (error: unknown) => {
          if (error instanceof VppError && error.status === 403) setHidden(true)
        },
      )
    void read()
    const timer = setInterval(read, 3000)
    addEventListener('hashchange', read)
    return () => {
      stopped = true
      clearInterval(timer)
      removeEventListener('hashchange', read)
    }
  }, [client])
  if (hidden || !stats) return null
  const by = stats.jobs_by_status
  const items: Array<[string, number | string]> = [
    ['Queued', stats.queue_depth],
    ['Processing', by.processing ?? 0],
    ['Completed', by.completed ?? 0],
    ['Failed', by.failed ?? 0],
    ['Dead letters', stats.dlq_depth],
    ['Per minute', Math.round(stats.processing_rate_per_minute * 10) / 10],
  ]
  return (
    <dl class="stats" aria-label="Pipeline stats">
      {items.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  )
}
