/** Containers accepted at upload, by file extension (the seed's "Invalid file type" list). */
export const ACCEPTED_EXTENSIONS = ['mp4', 'mov', 'avi', 'mkv', 'webm'] as const

/** The lower-case extension of a file name, without the dot ('' when there is none). */
export function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf('.')
  return dot > 0 ? filename.slice(dot + 1).toLowerCase() : ''
}

export function hasAcceptedExtension(filename: string): boolean {
  return (ACCEPTED_EXTENSIONS as readonly string[]).includes(extensionOf(filename))
}

/**
 * A client-supplied file name made safe to show: the last path component only (no `../`, `\`),
 * no control or bidi-override characters, at most 255 characters. It is metadata; stored paths never use it.
 */
export function displayName(raw: string | undefined, fallback = 'video'): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? ''
  // Control characters, and the bidirectional overrides that make `gpj.exe` display as `exe.jpg`.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const clean = base.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim()
  if (clean === '' || clean === '.' || clean === '..') return fallback
  // 255 characters, not cutting a surrogate pair in half.
  return clean.slice(0, 255).replace(/[\ud800-\udbff]$/, '')
}

/** A display name for a URL import: the last path segment, decoded. */
export function filenameFromUrl(url: string): string {
  const path = new URL(url).pathname
  const last = path.split('/').pop() ?? ''
  let decoded = last
  try {
    decoded = decodeURIComponent(last)
  } catch {}
  return displayName(decoded)
}
