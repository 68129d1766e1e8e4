/**
 * The player's Captions menu: the SUBTITLES tracks of the stream as hls.js lists them (its
 * SUBTITLE_TRACKS_UPDATED and SUBTITLE_TRACK_SWITCH events), "Off" first; picking one sets
 * `hls.subtitleTrack` (-1: off). hls.js renders the cues through the video's own text tracks.
 */

/** A caption track of the stream, as hls.js lists it. */
export interface SubtitleTrack {
  name: string
  lang?: string
}

/** The parts of an hls.js instance the menu uses. */
export interface SubtitleSource {
  readonly subtitleTracks: SubtitleTrack[]
  subtitleTrack: number
  on(event: string, listener: () => void): void
}

export interface Subtitles {
  tracks: SubtitleTrack[]
  /** The index shown; -1: none. */
  shown: number
  source?: SubtitleSource
}

export const NO_SUBTITLES: Subtitles = { tracks: [], shown: -1 }

/** Keep `set` told of `source`'s tracks and which one is shown. */
export function followSubtitles(
  source: SubtitleSource,
  events: { SUBTITLE_TRACKS_UPDATED: string; SUBTITLE_TRACK_SWITCH: string },
  set: (subtitles: Subtitles) => void,
): void {
  const list = () => set({ tracks: [...source.subtitleTracks], shown: source.subtitleTrack, source })
  source.on(events.SUBTITLE_TRACKS_UPDATED, list)
  source.on(events.SUBTITLE_TRACK_SWITCH, list)
}

/** The menu; nothing when the stream has no caption tracks. */
export function CaptionsMenu({
  subtitles,
  onPick,
}: {
  subtitles: Subtitles
  onPick: (s: Subtitles) => void
}) {
  const { tracks, shown, source } = subtitles
  if (tracks.length === 0 || !source) return null
  return (
    <label class="captions-select">
      Captions{' '}
      <select
        aria-label="Captions"
        value={String(shown)}
        onChange={(event) => {
          source.subtitleTrack = Number((event.target as HTMLSelectElement).value)
          onPick({ ...subtitles, shown: source.subtitleTrack })
        }}
      >
        <option value="-1">Off</option>
        {tracks.map((track, i) => (
          <option key={`${i}-${track.name}`} value={String(i)}>
            {track.name}
            {track.lang ? ` (${track.lang})` : ''}
          </option>
        ))}
      </select>
    </label>
  )
}
