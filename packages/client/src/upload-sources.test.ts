import { describe, expect, it } from 'vitest'
import { blobSource, bytesSource, webStreamSource } from './upload-sources.ts'

const BYTES = Uint8Array.from({ length: 1000 }, (_, i) => i % 251)

/** The bytes in stream pieces of `piece` bytes. */
function streamOf(bytes: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close()
      controller.enqueue(bytes.slice(at, at + piece))
      at += piece
    },
  })
}

describe('upload sources', () => {
  it('slice a Blob and bytes by offset, done at the end', async () => {
    for (const source of [blobSource(new Blob([BYTES])), bytesSource(BYTES)]) {
      expect(source.size).toBe(1000)
      const a = await source.slice(0, 300)
      const b = await source.slice(300, 1000)
      expect([a.done, b.done]).toEqual([false, true])
      // What tus-js-client measures a chunk by.
      expect([a.value.size, b.value.size]).toEqual([300, 700])
      expect(Buffer.concat([a.value, b.value])).toEqual(Buffer.from(BYTES))
    }
  })

  it('read a web stream forwards, give the last chunk again after a failed send, refuse to go back', async () => {
    const source = webStreamSource(streamOf(BYTES, 64), 1000)
    const first = await source.slice(0, 300)
    expect(Buffer.from(first.value)).toEqual(Buffer.from(BYTES.subarray(0, 300)))
    // The server kept 250 of the next chunk: tus asks from there.
    await source.slice(300, 600)
    const again = await source.slice(550, 850)
    expect(Buffer.from(again.value)).toEqual(Buffer.from(BYTES.subarray(550, 850)))
    const last = await source.slice(850, 1150)
    expect(Buffer.from(last.value)).toEqual(Buffer.from(BYTES.subarray(850)))
    expect(last.done).toBe(true)
    await expect(source.slice(100, 400)).rejects.toThrow('backwards')
  })
})
