/**
 * The HLS player: hls.js (loaded from `console/hls.js` on first use) where MediaSource exists,
 * the browser's own HLS otherwise (Safari, iOS), the MP4 when there is no stream. Below the
 * video, a seek bar that shows the storyboard's tile for the time under the pointer.
 * `data-player` says which one plays; `data-hls-errors` counts hls.js's error events.
 *
 * The stream of a job transcoded in chunks plays while it is processing: its playlists are
 * `EVENT` ones that grow (hls.js reloads them) until the job completes and they end. The player
 * loads a stream once: the MP4, poster and storyboard that come with the completed job do not
 * reload it.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { CaptionsMenu, followSubtitles, NO_SUBTITLES, type SubtitleTrack } from './captions-menu.tsx'
import { formatClock } from './format.ts'
import { parseStoryboard, type Tile, tileAt } from './storyboard.ts'

// The parts of hls.js used here (its UMD build sets window.Hls).
interface HlsError {
  type: string
  details: string
  fatal: boolean
}
interface HlsInstance {
  loadSource(url: string): void
  attachMedia(video: HTMLVideoElement): void
  on(event: string, listener: (name: string, data: HlsError) => void): void
  destroy(): void
  /** The master's SUBTITLES tracks; `subtitleTrack` the one shown (-1: none). */
  readonly subtitleTracks: SubtitleTrack[]
  subtitleTrack: number
}
interface HlsStatic {
  new (config?: Record<string, unknown>): HlsInstance
  isSupported(): boolean
  Events: { ERROR: string; SUBTITLE_TRACKS_UPDATED: string; SUBTITLE_TRACK_SWITCH: string }
}

let hlsLoading: Promise<HlsStatic> | undefined

function loadHls(): Promise<HlsStatic> {
  hlsLoading ??= new Promise((resolve, reject) => {
    const script = document.createElement('script')
    script.src = 'console/hls.js'
    script.onload = () => resolve((window as unknown as { Hls: HlsStatic }).Hls)
    script.onerror = () => {
      hlsLoading = undefined
      reject(new Error('hls.js did not load'))
    }
    document.head.append(script)
  })
  return hlsLoading
}

export interface PlayerProps {
  hls: string | null
  mp4: string | null
  poster: string | null
  storyboard: string | null
}

/** Whether hls.js can play here (MediaSource). */
const hasMse = () => 'MediaSource' in window || 'ManagedMediaSource' in window
let nativeHls: boolean | undefined
/** Whether the browser plays HLS itself (Safari, iOS). */
const playsHls = () =>
  (nativeHls ??= document.createElement('video').canPlayType('application/vnd.apple.mpegurl') !== '')

export function Player({ hls, mp4, poster, storyboard }: PlayerProps) {
  const video = useRef<HTMLVideoElement>(null)
  const [engine, setEngine] = useState<'hls.js' | 'native' | 'mp4' | ''>('')
  const [errors, setErrors] = useState<HlsError[]>([])
  const [fatal, setFatal] = useState<string>()
  const [subtitles, setSubtitles] = useState(NO_SUBTITLES)
  // With a stream this browser plays, the MP4 is only the fallback of hls.js failing: read when
  // needed, so that the MP4 of a job completed while its stream plays does not reload it.
  const fallback = useRef(mp4)
  fallback.current = mp4
  const streams = hls !== null && (hasMse() || playsHls())

  useEffect(() => {
    const element = video.current
    if (!element) return
    let instance: HlsInstance | undefined
    let stopped = false
    const mp4 = fallback.current
    if (hls && hasMse()) {
      loadHls()
        .then((Hls) => {
          if (stopped) return
          if (!Hls.isSupported()) throw new Error('hls.js is not supported here')
          // From the start: a growing (EVENT) playlist would otherwise start near its live edge.
          instance = new Hls({ startPosition: 0 })
          instance.on(Hls.Events.ERROR, (_name, data) => {
            setErrors((list) => [...list, data])
            if (data.fatal) setFatal(`${data.type}: ${data.details}`)
          })
          // The master's caption tracks: listed in a menu, none shown until picked.
          followSubtitles(instance, Hls.Events, setSubtitles)
          instance.loadSource(hls)
          instance.attachMedia(element)
          setEngine('hls.js')
        })
        .catch((error: unknown) => {
          if (stopped) return
          setFatal(String(error))
          const mp4 = fallback.current
          if (mp4) {
            element.src = mp4
            setEngine('mp4')
          }
        })
    } else if (hls && playsHls()) {
      element.src = hls
      setEngine('native')
    } else if (mp4) {
      element.src = mp4
      setEngine('mp4')
    }
    return () => {
      stopped = true
      instance?.destroy()
      setSubtitles(NO_SUBTITLES)
    }
  }, [hls, streams ? null : mp4])

  return (
    <figure class="player" data-player={engine} data-hls-errors={errors.length}>
      <video
        ref={video}
        controls
        playsInline
        muted
        preload="metadata"
        poster={poster ?? undefined}
        aria-label="Video"
      />
      <SeekBar video={video} storyboard={storyboard} />
      <CaptionsMenu subtitles={subtitles} onPick={setSubtitles} />
      {fatal && <p role="alert">Playback failed: {fatal}</p>}
    </figure>
  )
}

/** A seek bar over the video's time; hovering it shows the storyboard tile of that moment. */
function SeekBar({
  video,
  storyboard,
}: {
  video: { current: HTMLVideoElement | null }
  storyboard: string | null
}) {
  const tiles = useStoryboard(storyboard)
  const { time, duration } = useVideoTime(video)
  const [hover, setHover] = useState<{ at: number; left: number }>()
  const bar = useRef<HTMLDivElement>(null)

  const length = duration || tiles.at(-1)?.end || 0
  const timeAt = (clientX: number) => {
    const rect = bar.current?.getBoundingClientRect()
    if (!rect || rect.width === 0) return { at: 0, left: 0 }
    const left = Math.min(Math.max(clientX - rect.left, 0), rect.width)
    return { at: (left / rect.width) * length, left }
  }
  const seek = (to: number) => {
    if (video.current && length) video.current.currentTime = Math.min(Math.max(to, 0), length)
  }

  return (
    <div class="seek-wrap">
      <div
        ref={bar}
        class="seek"
        role="slider"
        tabIndex={0}
        aria-label="Seek"
        aria-valuemin={0}
        aria-valuemax={Math.round(length)}
        aria-valuenow={Math.round(time)}
        aria-valuetext={`${formatClock(time)} of ${formatClock(length)}`}
        onMouseMove={(event) => setHover(timeAt(event.clientX))}
        onMouseLeave={() => setHover(undefined)}
        onClick={(event) => seek(timeAt(event.clientX).at)}
        onKeyDown={(event) => {
          if (event.key === 'ArrowRight') seek(time + 5)
          else if (event.key === 'ArrowLeft') seek(time - 5)
          else return
          event.preventDefault()
        }}
      >
        <div class="seek-fill" style={{ width: length ? `${(time / length) * 100}%` : '0%' }} />
        {hover && <SeekPreview at={hover.at} left={hover.left} tile={tileAt(tiles, hover.at)} />}
      </div>
      <span class="clock">
        {formatClock(time)} / {formatClock(length)}
      </span>
    </div>
  )
}

/** The storyboard's tiles, once read (none without a storyboard, or when it cannot be read). */
function useStoryboard(storyboard: string | null): Tile[] {
  const [tiles, setTiles] = useState<Tile[]>([])
  useEffect(() => {
    if (!storyboard) return
    let stopped = false
    fetch(storyboard)
      .then((res) => (res.ok ? res.text() : ''))
      .then((text) => !stopped && setTiles(parseStoryboard(text, storyboard)))
      .catch(() => {})
    return () => {
      stopped = true
    }
  }, [storyboard])
  return tiles
}

/** The video's current time and its duration (0 until known), in seconds. */
function useVideoTime(video: { current: HTMLVideoElement | null }) {
  const [time, setTime] = useState(0)
  const [duration, setDuration] = useState(0)
  useEffect(() => {
    const element = video.current
    if (!element) return
    const onTime = () => setTime(element.currentTime)
    const onDuration = () => setDuration(Number.isFinite(element.duration) ? element.duration : 0)
    element.addEventListener('timeupdate', onTime)
    element.addEventListener('durationchange', onDuration)
    element.addEventListener('loadedmetadata', onDuration)
    return () => {
      element.removeEventListener('timeupdate', onTime)
      element.removeEventListener('durationchange', onDuration)
      element.removeEventListener('loadedmetadata', onDuration)
    }
  }, [video])
  return { time, duration }
}

/** Over the point hovered: the storyboard tile of that moment, if there is one, and its time. */
function SeekPreview({ at, left, tile }: { at: number; left: number; tile: Tile | undefined }) {
  return (
    <div class="seek-preview" style={{ left: `${left}px` }}>
      {tile && (
        <div
          class="tile"
          role="img"
          aria-label={`Preview at ${formatClock(at)}`}
          style={{
            width: `${tile.w}px`,
            height: `${tile.h}px`,
            backgroundImage: `url("${tile.url}")`,
            backgroundPosition: `-${tile.x}px -${tile.y}px`,
          }}
        />
      )}
      <span>{formatClock(at)}</span>
    </div>
  )
}
