import type { WatermarkCreated, WatermarkList } from './types.ts'

/** How the client calls a route: its JSON answer, or the API error thrown. */
type Call = <T>(url: string, init?: RequestInit) => Promise<T>

/** `POST /watermarks`, `GET /watermarks` and `DELETE /watermarks/{id}` on ingest at `ingest`. */
export function watermarkCalls(ingest: string, call: Call) {
  return {
    addWatermark: (
      png: Blob | Uint8Array,
      options: { default?: boolean } = {},
    ): Promise<WatermarkCreated> => {
      const form = new FormData()
      form.append(
        'file',
        png instanceof Blob ? png : new Blob([png as Uint8Array<ArrayBuffer>]),
        'watermark.png',
      )
      if (options.default) form.append('default', 'true')
      return call(`${ingest}/watermarks`, { method: 'POST', body: form })
    },
    listWatermarks: (): Promise<WatermarkList> => call(`${ingest}/watermarks`),
    deleteWatermark: (id: string): Promise<void> =>
      call(`${ingest}/watermarks/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  }
}
