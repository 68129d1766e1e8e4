import { describe, expect, it } from 'vitest'
import { sameFile } from './stream.ts'

describe('sameFile', () => {
  const id = 'job-1'
  const signed = (token: string) => `http://localhost:8001/media/${token}/${id}/hls/master.m3u8`

  it('takes URLs of one file signed at different times as the same', () => {
    expect(sameFile(signed('1796624280.aaa'), signed('1796626440.bbb'), id)).toBe(true)
    expect(sameFile(`http://localhost:8001/media/${id}/hls/master.m3u8`, signed('1.a'), id)).toBe(true)
    const presigned = (signature: string) =>
      `https://bucket.example/outputs/${id}/hls/master.m3u8?X-Amz-Signature=${signature}`
    expect(sameFile(presigned('aa'), presigned('bb'), id)).toBe(true)
    expect(sameFile(null, null, id)).toBe(true)
  })

  it('tells apart other files, jobs and origins, and none from one', () => {
    expect(sameFile(signed('1.a'), signed('1.a').replace('master', 'other'), id)).toBe(false)
    expect(sameFile(signed('1.a'), signed('1.a').replace(`/${id}/`, '/job-2/'), id)).toBe(false)
    expect(sameFile(signed('1.a'), signed('1.a').replace('localhost', '127.0.0.1'), id)).toBe(false)
    expect(sameFile(null, signed('1.a'), id)).toBe(false)
    expect(sameFile(signed('1.a'), null, id)).toBe(false)
    expect(sameFile('not a url', 'not a url either', id)).toBe(false)
  })
})
