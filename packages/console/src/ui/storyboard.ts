/**
 * A storyboard's WebVTT (`storyboard.vtt`): one cue per tile, its text a sprite sheet's URL with
 * the tile's rectangle (`storyboard.jpg#xywh=160,0,160,90`). Pure.
 */

export interface Tile {
  start: number
  end: number
  /** The sheet, absolute (resolved against the VTT's own URL: signed URLs keep their token). */
  url: string
  x: number
  y: number
  w: number
  h: number
}

/** `00:01:02.500` or `01:02.500` as seconds. */
function seconds(stamp: string): number {
  const parts = stamp.trim().split(':').map(Number)
  return parts.reduce((total, part) => total * 60 + part, 0)
}

export function parseStoryboard(text: string, base: string): Tile[] {
  const tiles: Tile[] = []
  for (const block of text.replace(/\r\n?/g, '\n').split(/\n{2,}/)) {
    const lines = block.split('\n').filter(Boolean)
    const timing = lines.findIndex((line) => line.includes('-->'))
    const ref = lines[timing + 1]
    if (timing < 0 || !ref) continue
    const [from, to] = (lines[timing] as string).split('-->')
    const match = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(ref.trim())
    if (!from || !to || !match) continue
    tiles.push({
      start: seconds(from),
      end: seconds(to.trim().split(/\s+/)[0] ?? ''),
      url: new URL(match[1] as string, base).href,
      x: Number(match[2]),
      y: Number(match[3]),
      w: Number(match[4]),
      h: Number(match[5]),
    })
  }
  return tiles
}

/** The tile shown at `time`: the cue covering it, else the last one before it. */
export function tileAt(tiles: readonly Tile[], time: number): Tile | undefined {
  let found: Tile | undefined
  for (const tile of tiles) {
    if (tile.start <= time) found = tile
    if (tile.start <= time && time < tile.end) return tile
  }
  return found
}
