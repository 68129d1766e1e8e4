/**
 * The console: sign-in when keys are on, then the header (navigation and stats) and one of three
 * pages by the URL's hash: `#/` uploads and the live job list, `#/jobs/{id}` a job, `#/dlq` the
 * dead letters.
 */
import { VppError } from '@vpp/client'
import { useEffect, useMemo, useState } from 'preact/hooks'
import { DeadLetters } from './dead-letters.tsx'
import { JobList } from './job-list.tsx'
import { JobPage } from './job-page.tsx'
import { type ConsoleConfig, clientFor, forgetKey, loadConfig, storedKey, storeKey } from './session.ts'
import { StatsBar } from './stats.tsx'
import { UploadPanel } from './upload.tsx'

type Route = { page: 'home' } | { page: 'job'; id: string } | { page: 'dlq' }

function route(): Route {
  const hash = location.hash.replace(/^#\/?/, '')
  const job = /^jobs\/([^/?#]+)$/.exec(hash)
  if (job?.[1]) return { page: 'job', id: decodeURIComponent(job[1]) }
  if (hash === 'dlq') return { page: 'dlq' }
  return { page: 'home' }
}

export function App() {
  const [config, setConfig] = useState<ConsoleConfig>()
  const [failure, setFailure] = useState<string>()
  const [key, setKey] = useState(storedKey())
  const [refused, setRefused] = useState<string>()
  const [where, setWhere] = useState(route())

  useEffect(() => {
    loadConfig().then(setConfig, (error: unknown) => setFailure(String(error)))
    const onHash = () => setWhere(route())
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])
  const client = useMemo(() => config && clientFor(config, key), [config, key])

  if (failure) return <p role="alert">The console could not start: {failure}</p>
  if (!config || !client) return <p class="loading">Loading…</p>
  const signOut = (why?: string) => {
    forgetKey()
    setKey(undefined)
    setRefused(why)
  }
  if (config.keys && !key) {
    return (
      <SignIn
        config={config}
        notice={refused}
        onSignedIn={(k) => {
          storeKey(k)
          setKey(k)
          setRefused(undefined)
        }}
      />
    )
  }
  /** A key refused later (revoked while signed in) signs out. */
  const onError = (error: unknown) => {
    if (error instanceof VppError && error.status === 401) signOut('Your key was refused: sign in again.')
  }
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          Video pipeline
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={where.page === 'home' ? 'page' : undefined}>
            Jobs
          </a>
          <a href="#/dlq" aria-current={where.page === 'dlq' ? 'page' : undefined}>
            Dead letters
          </a>
          <a href="docs">API docs</a>
          {config.keys && (
            <button type="button" class="link" onClick={() => signOut()}>
              Sign out
            </button>
          )}
        </nav>
        <StatsBar client={client} />
      </header>
      <main>
        {where.page === 'job' && <JobPage key={where.id} client={client} id={where.id} onError={onError} />}
        {where.page === 'dlq' && <DeadLetters client={client} onError={onError} />}
        {where.page === 'home' && (
          <>
            <UploadPanel client={client} profiles={config.profiles} />
            <JobList client={client} statuses={config.statuses} onError={onError} />
          </>
        )}
      </main>
    </>
  )
}

/** Asks for a key and tries it (one `GET /jobs`) before keeping it: a wrong one is refused here. */
function SignIn(props: { config: ConsoleConfig; notice?: string; onSignedIn: (key: string) => void }) {
  const [error, setError] = useState(props.notice)
  const [busy, setBusy] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    const key = String(new FormData(event.target as HTMLFormElement).get('key') ?? '').trim()
    setBusy(true)
    try {
      await clientFor(props.config, key).jobs({ limit: 1 })
      props.onSignedIn(key)
    } catch (caught) {
      setError(
        caught instanceof VppError && caught.status === 401
          ? 'That key was refused.'
          : `Could not check the key: ${String(caught)}`,
      )
    } finally {
      setBusy(false)
    }
  }
  return (
    <main class="sign-in">
      <h1>Video pipeline</h1>
      <form onSubmit={submit}>
        <p>This pipeline needs an API key.</p>
        <label for="api-key">API key</label>
        <input id="api-key" name="key" type="password" autocomplete="off" required />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && <p role="alert">{error}</p>}
      </form>
    </main>
  )
}
