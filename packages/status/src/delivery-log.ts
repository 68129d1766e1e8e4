import type { Delivery, DeliveryLogEntry } from '@vpp/shared'

/**
 * What `GET /jobs/{id}/deliveries` shows of a job's log to someone who may see the job. The
 * attempts at the job's own callback_url, its owner gave and may see whole. WEBHOOK_URLS are the
 * operator's, and may carry a token: only `admin` (an admin key, or anyone when keys are off)
 * sees those attempts, and their URL without credentials, query or fragment. Entries written
 * before the target was recorded are the callback's when their URL is the job's `callbackUrl`.
 */
export function shownDeliveries(
  entries: readonly DeliveryLogEntry[],
  viewer: { admin: boolean; callbackUrl: string | undefined },
): Delivery[] {
  const shown: Delivery[] = []
  for (const entry of entries) {
    const target = entry.target ?? (entry.url === viewer.callbackUrl ? 'callback' : 'operator')
    if (target === 'callback') shown.push({ ...entry, target })
    else if (viewer.admin) shown.push({ ...entry, target, url: withoutSecrets(entry.url) })
  }
  return shown
}

/** `https://user:pw@host/path?token=x#y` -> `https://host/path`. */
export function withoutSecrets(url: string): string {
  if (!URL.canParse(url)) return ''
  const parsed = new URL(url)
  parsed.username = ''
  parsed.password = ''
  parsed.search = ''
  parsed.hash = ''
  return parsed.href
}
