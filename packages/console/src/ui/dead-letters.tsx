/**
 * The dead-letter queue (`GET /dlq`, admin keys only when keys are on): each failed job with its
 * error and attempts, to retry (queued again) or discard.
 */
import { type DlqEntry, type VppClient, VppError } from '@vpp/client'
import { useEffect, useState } from 'preact/hooks'
import { formatTime } from './format.ts'

export function DeadLetters({ client, onError }: { client: VppClient; onError: (error: unknown) => void }) {
  const [entries, setEntries] = useState<DlqEntry[]>()
  const [total, setTotal] = useState(0)
  const [problem, setProblem] = useState<string>()
  const [notice, setNotice] = useState<string>()
  const [busy, setBusy] = useState<string>()

  const load = () =>
    client.dlq({ limit: 100 }).then(
      (list) => {
        setEntries(list.entries)
        setTotal(list.total)
        setProblem(undefined)
      },
      (error: unknown) => {
        onError(error)
        setProblem(
          error instanceof VppError && error.status === 403
            ? 'The dead-letter queue needs an admin key (one of ADMIN_API_KEYS).'
            : String(error),
        )
      },
    )
  useEffect(() => {
    void load()
    const timer = setInterval(load, 5000)
    return () => clearInterval(timer)
  }, [client])

  const act = async (entry: DlqEntry, retry: boolean) => {
    setBusy(entry.message_id)
    try {
      if (retry) await client.retryDeadLetter(entry.message_id)
      else await client.discardDeadLetter(entry.message_id)
      setNotice(retry ? `${entry.filename} is queued again.` : `${entry.filename} was discarded.`)
      await load()
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error))
    } finally {
      setBusy(undefined)
    }
  }

  return (
    <section class="panel" aria-labelledby="dlq-title">
      <h1 id="dlq-title">Dead letters</h1>
      <p>
        Jobs that failed every attempt. Retry queues one again; discard forgets the entry (the job stays
        failed).
      </p>
      {notice && <p role="status">{notice}</p>}
      {problem && <p role="alert">{problem}</p>}
      {entries && entries.length === 0 && <p class="empty">The dead-letter queue is empty.</p>}
      {entries && entries.length > 0 && (
        <>
          <p>
            {total} in the queue{total > entries.length ? `, the first ${entries.length} shown` : ''}.
          </p>
          <ul class="dead-letters" aria-label="Dead-letter entries">
            {entries.map((entry) => (
              <DeadLetterItem
                key={entry.message_id}
                entry={entry}
                busy={busy === entry.message_id}
                act={act}
              />
            ))}
          </ul>
        </>
      )}
    </section>
  )
}

/** One entry: the job (a link to its page), its error and attempts, Retry and Discard. */
function DeadLetterItem(props: {
  entry: DlqEntry
  /** While its retry or discard is under way. */
  busy: boolean
  act: (entry: DlqEntry, retry: boolean) => unknown
}) {
  const { entry, busy, act } = props
  return (
    <li data-job-id={entry.job_id}>
      <a href={`#/jobs/${entry.job_id}`} class="name">
        {entry.filename}
      </a>
      <span class="error">{entry.error}</span>
      <span class="figures">
        {entry.attempts} attempts · failed {formatTime(entry.failed_at)}
      </span>
      <span class="row">
        <button
          type="button"
          disabled={busy}
          onClick={() => act(entry, true)}
          aria-label={`Retry ${entry.filename}`}
        >
          Retry
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={() => act(entry, false)}
          aria-label={`Discard ${entry.filename}`}
        >
          Discard
        </button>
      </span>
    </li>
  )
}
