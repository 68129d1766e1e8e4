/**
 * "Download original" on a job's page, for a job whose upload is kept (`original: kept`,
 * KEEP_ORIGINALS): asks `GET /jobs/{id}/original` for a fresh short-lived URL when clicked (a
 * URL read with the page would have expired by then), then goes there; the answer is an
 * attachment, so the browser saves it and the page stays.
 */
import type { VppClient } from '@vpp/client'
import { useState } from 'preact/hooks'

export function OriginalDownload(props: {
  client: VppClient
  id: string
  onProblem: (message: string) => void
  /** Where the URL goes (a test's spy); default: the browser navigates to it. */
  open?: (url: string) => void
}) {
  const [busy, setBusy] = useState(false)
  const download = async () => {
    setBusy(true)
    try {
      const { url } = await props.client.original(props.id)
      ;(props.open ?? ((href: string) => location.assign(href)))(url)
    } catch (error) {
      props.onProblem(error instanceof Error ? error.message : String(error))
    } finally {
      setBusy(false)
    }
  }
  return (
    <button type="button" disabled={busy} onClick={download}>
      Download original
    </button>
  )
}
