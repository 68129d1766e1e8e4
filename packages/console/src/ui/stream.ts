/**
 * Whether two URLs of job `jobId`'s files name the same file: the same origin, and the same path
 * from the job's folder on. What else differs is a signature: a record read later signs its URLs
 * afresh (the token before the job id in a signed `/media` path, or a presigned URL's query),
 * and the file is the same. Pure.
 */
export function sameFile(a: string | null, b: string | null, jobId: string): boolean {
  if (a === b) return true
  if (a === null || b === null || !URL.canParse(a) || !URL.canParse(b)) return false
  const folder = `/${jobId}/`
  const [first, second] = [new URL(a), new URL(b)].map((url) => {
    const at = url.pathname.indexOf(folder)
    return at < 0 ? null : `${url.origin}${url.pathname.slice(at)}`
  })
  return first !== null && first === second
}
