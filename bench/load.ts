/**
 * Load benchmark against a running pipeline (the seed's scripts/benchmark.py):
 *
 *   npm run bench:load -- --video clip.mp4 --jobs 20 --concurrent 4 --output results.json
 *
 * Uploads the video `--jobs` times with `--concurrent` uploads in flight, polls every job's status
 * until it finishes, and prints the seed's report: job summary, throughput, upload latency and
 * processing latency (job created -> finished, from the job record), with --output as JSON.
 * Talks to --ingest-url (default http://localhost:8000) and --status-url (http://localhost:8001):
 * `npm start` or the compose stack alike; --api-key when API_KEYS is set. A progress line on
 * stderr shows uploads and finished jobs.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    video: { type: 'string' },
    jobs: { type: 'string', default: '20' },
    concurrent: { type: 'string', default: '4' },
    output: { type: 'string' },
    'ingest-url': { type: 'string', default: 'http://localhost:8000' },
    'status-url': { type: 'string', default: 'http://localhost:8001' },
    'api-key': { type: 'string' },
    timeout: { type: 'string', default: '1800' },
  },
})
if (!values.video) {
  process.stderr.write(
    'usage: npm run bench:load -- --video FILE [--jobs 20] [--concurrent 4] [--output results.json]\n' +
      '       [--ingest-url http://localhost:8000] [--status-url http://localhost:8001] [--api-key KEY]\n',
  )
  process.exit(2)
}
const jobs = Number(values.jobs)
const concurrent = Number(values.concurrent)
const video = new Blob([await readFile(values.video)])
const name = basename(values.video)

interface Result {
  job_id?: string
  upload_ms: number
  processing_ms?: number
  status: string
  error?: string
}

const ingestUrl = values['ingest-url']
const statusUrl = values['status-url']
const headers: Record<string, string> = values['api-key']
  ? { authorization: `Bearer ${values['api-key']}` }
  : {}
const progress = { uploaded: 0, finished: 0 }

/** Upload one copy; resolves once the upload is answered (a slot frees up for the next one). */
async function upload(): Promise<{ result?: Result; jobId?: string; upload_ms: number }> {
  const form = new FormData()
  form.append('file', video, name)
  const started = performance.now()
  let res = await fetch(`${ingestUrl}/upload`, { method: 'POST', body: form, headers })
  // Over RATE_LIMIT_PER_MINUTE: wait as told, then send it again (the wait counts as upload time).
  while (res.status === 429) {
    await res.body?.cancel()
    await new Promise((resolve) => setTimeout(resolve, Number(res.headers.get('retry-after') ?? 1) * 1000))
    res = await fetch(`${ingestUrl}/upload`, { method: 'POST', body: form, headers })
  }
  const upload_ms = performance.now() - started
  progress.uploaded++
  const body = (await res.json()) as { job_id?: string; message?: string }
  if (res.status !== 202 || !body.job_id) {
    progress.finished++
    return { upload_ms, result: { upload_ms, status: 'upload_failed', error: body.message } }
  }
  return { upload_ms, jobId: body.job_id }
}

/** Poll a job until it is completed or failed (or --timeout passes). */
async function finish(jobId: string, upload_ms: number): Promise<Result> {
  const deadline = Date.now() + Number(values.timeout) * 1000
  try {
    while (Date.now() < deadline) {
      const job = (await (await fetch(`${statusUrl}/jobs/${jobId}`, { headers })).json()) as {
        status: string
        created_at: string
        updated_at: string
        error?: string
      }
      if (job.status === 'completed' || job.status === 'failed') {
        const processing_ms = Date.parse(job.updated_at) - Date.parse(job.created_at)
        return { job_id: jobId, upload_ms, processing_ms, status: job.status, error: job.error }
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    return { job_id: jobId, upload_ms, status: 'timeout' }
  } finally {
    progress.finished++
  }
}

/** `[#########-----------] uploaded 9/20, finished 3/20` on stderr, redrawn in place on a terminal. */
function drawProgress(final = false) {
  const width = 30
  const done = Math.round((progress.finished / jobs) * width)
  const line = `[${'#'.repeat(done)}${'-'.repeat(width - done)}] uploaded ${progress.uploaded}/${jobs}, finished ${progress.finished}/${jobs}`
  if (process.stderr.isTTY) process.stderr.write(`\r${line}${final ? '\n' : ''}`)
  else if (final) process.stderr.write(`${line}\n`)
}

const started = performance.now()
const timer = setInterval(() => drawProgress(), 250)
const pending: Array<Promise<Result>> = []
let next = 0
await Promise.all(
  Array.from({ length: Math.min(concurrent, jobs) }, async () => {
    while (next < jobs) {
      next++
      const { result, jobId, upload_ms } = await upload()
      pending.push(result ? Promise.resolve(result) : finish(jobId ?? '', upload_ms))
    }
  }),
)
const results = await Promise.all(pending)
clearInterval(timer)
drawProgress(true)
const totalSeconds = (performance.now() - started) / 1000

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b)
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0
  const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1)
  return { min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0, mean, p50: pick(0.5), p95: pick(0.95) }
}
const ok = results.filter((r) => r.status === 'completed')
const report = {
  total_jobs: jobs,
  successful: ok.length,
  failed: jobs - ok.length,
  success_rate: (ok.length / jobs) * 100,
  total_duration_s: totalSeconds,
  throughput_jobs_per_min: (ok.length / totalSeconds) * 60,
  upload_latency_ms: summary(results.map((r) => r.upload_ms)),
  processing_latency_ms: summary(ok.map((r) => r.processing_ms ?? 0)),
  results,
}

const ms = (n: number) => `${n.toFixed(2)}ms`
const block = (title: string, s: ReturnType<typeof summary>) => [
  title,
  `  Min:    ${ms(s.min)}`,
  `  Max:    ${ms(s.max)}`,
  `  Mean:   ${ms(s.mean)}`,
  `  P50:    ${ms(s.p50)}`,
  `  P95:    ${ms(s.p95)}`,
]
const line = '='.repeat(60)
process.stdout.write(
  [
    line,
    'VIDEO PROCESSING PIPELINE BENCHMARK REPORT',
    line,
    '',
    'JOB SUMMARY',
    `  Total Jobs:      ${jobs}`,
    `  Successful:      ${ok.length}`,
    `  Failed:          ${jobs - ok.length}`,
    `  Success Rate:    ${report.success_rate.toFixed(1)}%`,
    '',
    'PERFORMANCE',
    `  Total Duration:  ${totalSeconds.toFixed(2)}s`,
    `  Throughput:      ${report.throughput_jobs_per_min.toFixed(2)} jobs/min`,
    '',
    ...block('UPLOAD LATENCY', report.upload_latency_ms),
    '',
    ...block('PROCESSING LATENCY', report.processing_latency_ms),
    line,
    '',
  ].join('\n'),
)
if (values.output) await writeFile(values.output, `${JSON.stringify(report, null, 2)}\n`)
