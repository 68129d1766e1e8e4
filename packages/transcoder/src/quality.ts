/**
 * The `ssim` of each video rendition: SSIM against the source on a sample of frames, measured as
 * bench:quality measures whole videos (each rendition frame against the source's frame at the
 * same time scaled to the rendition's size, `[src]scale=W:H:flags=bicubic[ref];[rend][ref]ssim`,
 * the `All:` value). Pure argument building and parsing, and the runner that calls them.
 *
 * A sample costs its decoding: the source and every rendition from their keyframes before it. On
 * the 8 s noisy 1080p clip (a 34 CPU s job) a source frame takes 28 ms, a frame of all six
 * renditions 14 ms, a keyframe of each several times that. So, measured there
 * (docs/transcoding.md, "Quality"):
 * - one ffmpeg run a sample, each input seeked with `-ss` (frame-accurate: decoded from the
 *   keyframe before), rather than a `select` filter, which decodes every frame: the source's
 *   alone are 7 CPU s, 20 % of the job;
 * - a sample starts on the frame after a source keyframe, so the source costs a GOP's start (not
 *   on the keyframe: sharper than its neighbours, it reads up to 0.02 low);
 * - and at least SAMPLE_LEAD_S after a rendition keyframe: the frames just after one read up to
 *   0.06 low on a rendition short of bits (the encoder paid for its keyframe), the keyframe up to
 *   0.09 high;
 * - SAMPLE_RUN frames in a row: each frame after the first costs one frame's decode, and the run
 *   evens out the swings from frame to frame: 0.0075 off the whole video's SSIM (root mean
 *   square over the places a sample can be) instead of 0.0091 on the clip's 1080p, 0.0042
 *   instead of 0.0058 on a 720p camera-like clip;
 * - one run in SAMPLE_EVERY frames, 1 % of the frames: 4.0-4.2 % of the job's CPU there (single
 *   frames at 1 %, two runs, took 6.7 %).
 */
import { extname } from 'node:path'
import type { Logger } from '@vpp/shared'
import type { TranscoderConfig } from './config.ts'
import { type EncodeOptions, type FfmpegRun, inputArgs, outputFps } from './ffmpeg-args/index.ts'
import { ProcessError, runProcess } from './ffmpeg-process.ts'
import { CONFINE, FORMAT_WHITELIST, NO_DREFS, type Probe } from './probe.ts'

/** Frames in a row a sample compares. */
export const SAMPLE_RUN = 4
/** One sample in this many frames, spread evenly (at least one): 1 % of the frames. */
export const SAMPLE_EVERY = 400
/** Seconds after a rendition's keyframe before a frame stands for the rest (see above). */
export const SAMPLE_LEAD_S = 0.5
/**
 * Seconds of source a sample may decode when no source keyframe falls where it is wanted (a
 * source with keyframes far apart): past this, that part of the video gets no sample.
 */
export const MAX_SOURCE_LEAD_S = 1

/** A written video rendition, at the size the job record gives it. */
export interface Rendition {
  profile: string
  path: string
  width: number
  height: number
}

/**
 * A file's video timeline. `-ss` counts from the file's start (its earliest stream); a sample's
 * time counts from the video's first frame, the same frame in the source and in every rendition
 * (a rendition's video may start later in its file than the source's: a fragmented MP4 without
 * an edit list starts it after the B-frame delay, a WebM's Opus pre-skip moves the file's start).
 */
export interface Timeline {
  /** Seconds from the file's start to its video's first frame. */
  start: number
  /** Keyframes, in seconds from the video's first frame, ascending and distinct. */
  keyframes: number[]
}

/**
 * ffprobe arguments that list a file's video packets as `packet,pts_time,flags` CSV lines (`K`:
 * a keyframe), then `stream,start_time` and `format,start_time`, reading the container only:
 * nothing is decoded. The source is read as the transcoder reads it (one local file, its own
 * demuxer, no data references); a rendition is one of ours.
 */
export function timelineArgs(path: string, source?: Probe): string[] {
  const input = source
    ? [
        ...CONFINE,
        '-format_whitelist',
        FORMAT_WHITELIST,
        ...(source.demuxer ? ['-f', source.demuxer] : []),
        ...NO_DREFS,
      ]
    : CONFINE
  // biome-ignore format: flag and value on one line
  return [
    '-v', 'error', ...input,
    '-select_streams', source ? String(source.videoIndex) : 'v:0',
    '-show_entries', 'packet=pts_time,flags:stream=start_time:format=start_time',
    '-of', 'csv',
    `file:${path}`,
  ]
}

/** Pure: the timeline timelineArgs' output describes. */
export function parseTimeline(csv: string): Timeline {
  let file: number | undefined
  let video: number | undefined
  let first = Number.POSITIVE_INFINITY
  const keys = new Set<number>()
  for (const line of csv.split('\n')) {
    const [section, time, flags] = line.trim().split(',')
    const seconds = Number(time)
    if (time === undefined || time === '' || !Number.isFinite(seconds)) continue
    if (section === 'format') file = seconds
    else if (section === 'stream') video = seconds
    else if (section === 'packet') {
      first = Math.min(first, seconds)
      if (flags?.includes('K')) keys.add(seconds)
    }
  }
  const videoStart = video ?? (Number.isFinite(first) ? first : (file ?? 0))
  const round = (t: number) => Math.round(t * 1e6) / 1e6
  return {
    start: round(Math.max(0, videoStart - (file ?? videoStart))),
    keyframes: [...keys].map((t) => round(t - videoStart)).sort((x, y) => x - y),
  }
}

export interface SampleInput {
  /** Seconds of the renditions. */
  duration: number
  /** Frames per second of the renditions. */
  frameRate: number
  /** The source's keyframes (its Timeline's). */
  source: readonly number[]
  /** A rendition's keyframes (its Timeline's): every 2 s, at chunk starts, at scene cuts. */
  rendition: readonly number[]
}

/**
 * Pure: where the samples start, in seconds from the video's first frame: one in SAMPLE_EVERY
 * frames, at least one. The video is cut into that many equal stretches, and each gets, of the
 * frames just after a source keyframe in it and at least SAMPLE_LEAD_S after the renditions'
 * last keyframe, the one nearest its middle. A stretch without one gets the middle of a
 * rendition GOP (the one nearest its middle) if that is at most MAX_SOURCE_LEAD_S after a source
 * keyframe, and no sample otherwise (the first stretch always gets one). `-ss t` gives the first
 * frame at or after t: each time is half a frame before its frame, so both files give that frame
 * whatever their rounding.
 */
export function sampleTimes({ duration, frameRate, source, rendition }: SampleInput): number[] {
  const frame = 1 / (frameRate > 0 ? frameRate : 25)
  const frames = Math.max(1, Math.round(duration / frame))
  const count = Math.max(1, Math.floor(frames / SAMPLE_EVERY))
  const stretch = duration / count
  // Where the last run can start; a little slack for times that are sums of floats.
  const last = Math.max(0, frames - SAMPLE_RUN) * frame + 1e-6
  // Seconds since the renditions' last keyframe.
  const phase = (t: number) => t - before(rendition, t)
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const from = i * stretch
    const to = i === count - 1 ? duration : (i + 1) * stretch
    const middle = (from + to) / 2
    const nearest = (a: number, b: number) => Math.abs(a - middle) - Math.abs(b - middle)
    const within = (t: number) => t >= from && t < to && t <= last
    // The frame after each source keyframe in the stretch, where the renditions have settled.
    let t: number | undefined = source
      .map((k) => k + frame)
      .filter((t) => within(t) && phase(t) >= SAMPLE_LEAD_S - 1e-6)
      .sort(nearest)[0]
    // Else the middle of a rendition GOP (as good as the GOP's mean, where its start is not),
    // with little of the source to decode before it.
    const keys = rendition[0] === 0 ? rendition : [0, ...rendition]
    t ??= keys
      .map((k, j) => {
        const centre = k + (Math.min(keys[j + 1] ?? k + 2, duration) - k) / 2
        return Math.ceil(centre / frame - 1e-6) * frame
      })
      .filter((t) => within(t) && t - before(source, t) <= MAX_SOURCE_LEAD_S + 1e-6)
      .sort(nearest)[0]
    // Nothing in the first stretch (a video of a few frames): its middle.
    if (t === undefined && i === 0) t = Math.floor(Math.max(0, frames - SAMPLE_RUN) / 2) * frame
    if (t !== undefined) times.push(Math.round(Math.max(0, t - frame / 2) * 1e6) / 1e6)
  }
  return [...new Set(times)]
}

/** The last of ascending `times` at or before `t` (0 when none is). */
function before(times: readonly number[], t: number): number {
  let low = 0
  let high = times.length
  while (low < high) {
    const mid = (low + high) >> 1
    if ((times[mid] ?? 0) <= t + 1e-6) low = mid + 1
    else high = mid
  }
  return low > 0 ? (times[low - 1] ?? 0) : 0
}

/**
 * The ffmpeg arguments of one sample: the source and every rendition seeked to `at` on their own
 * timelines (each decoding on one thread: the least CPU per frame), SAMPLE_RUN frames of each
 * rendition against the source's split and scaled to its size, one `ssim` per rendition, named
 * `ssim@r{i}`: its `SSIM ... All:` line on stderr says which rendition it is. `ssim` pairs each
 * rendition frame with the last source frame at or before its time: the rendition's are moved
 * half a frame on, so that is the source frame nearest it, as the `fps` filter chose it for a
 * variable frame rate (and the same one for a constant rate).
 */
export function ssimArgs(
  source: { path: string; probe: Probe; start: number },
  renditions: ReadonlyArray<Rendition & { start: number }>,
  sample: { at: number; frameRate: number },
  options: Pick<EncodeOptions, 'maxPixels' | 'maxDurationSeconds'>,
): string[] {
  const frame = 1 / (sample.frameRate > 0 ? sample.frameRate : 25)
  const seconds = (t: number) => String(Math.round(t * 1e6) / 1e6)
  const seek = (start: number) => ['-threads', '1', '-ss', seconds(start + sample.at)]
  const { probe } = source
  const args = [
    // SSIM lines are `info`: the last lines of stderr, after everything else it says.
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'],
    ...seek(source.start),
    // The source as the transcoder reads it; autorotate is on (ffmpeg's default), as the
    // renditions were made from the frames as displayed.
    ...inputArgs(source.path, probe, { threads: 0, ...options }),
  ]
  // The source frames the run's rendition frames need (timestamps count from the seek).
  const head = `[0:${probe.videoIndex}]trim=end=${seconds((SAMPLE_RUN + 0.5) * frame)},settb=AVTB`
  const graph = [`${head},split=${renditions.length}${renditions.map((_, i) => `[s${i}]`).join('')}`]
  const outputs: string[] = []
  renditions.forEach((rendition, i) => {
    const demuxer = rendition.path.endsWith('.webm') ? ['-f', 'matroska'] : ['-f', 'mov', ...NO_DREFS]
    args.push(...seek(rendition.start), ...CONFINE, ...demuxer, '-i', `file:${rendition.path}`)
    graph.push(
      `[s${i}]scale=${rendition.width}:${rendition.height}:flags=bicubic[ref${i}]`,
      `[${i + 1}:v:0]trim=end_frame=${SAMPLE_RUN},settb=AVTB,setpts=PTS+${seconds(frame / 2)}/TB[rend${i}]`,
      `[rend${i}][ref${i}]ssim@r${i}[o${i}]`,
    )
    outputs.push('-map', `[o${i}]`, '-f', 'null', '-')
  })
  return [...args, '-filter_complex', graph.join(';'), ...outputs]
}

/** Pure: each rendition's `All:` from one sample's stderr, by index (null: none said). */
export function parseSsim(stderr: string, count: number): Array<number | null> {
  const found: Array<number | null> = Array.from({ length: count }, () => null)
  for (const match of stderr.matchAll(/\[ssim@r(\d+) @ [^\]]*\] SSIM .*? All:(\d+(?:\.\d+)?)/g)) {
    const value = Number(match[2])
    const i = Number(match[1])
    if (i < count && value >= 0 && value <= 1) found[i] = value
  }
  return found
}

/**
 * Pure: the source's timeline from a clip's start on (the renditions' frame 0): its start moved
 * there (`-ss` counts from the file's start, as the encode's), its keyframes before it gone.
 */
export function fromClipStart(source: Timeline, clipStart: number): Timeline {
  if (clipStart <= 0) return source
  const start = Math.max(source.start, clipStart)
  const shift = start - source.start
  const round = (t: number) => Math.round(t * 1e6) / 1e6
  return { start, keyframes: source.keyframes.filter((k) => k >= shift).map((k) => round(k - shift)) }
}

/** Longest a sample run or a listing may take (a sample decodes a few seconds at most). */
const RUN_TIMEOUT_MS = 120_000

/**
 * The sampled SSIM of each video rendition the engine wrote (rounded to 4 decimals), by profile:
 * the mean over the samples of each one's `All:`. The keyframes come from the first rendition
 * (they all have the forced ones; encoders add their own at scene cuts), where the video starts
 * from the first of each container (the same muxer and encoder settings). A measurement that
 * fails leaves the renditions without `ssim` (logged): the job is not failed for it. Cancelled
 * with the job. A clip's renditions start `clipStart` seconds into the input: the source is read
 * on their timeline (fromClipStart).
 */
export async function measureQuality(
  input: string,
  probe: Probe,
  written: FfmpegRun['outputs'],
  duration: number | null,
  ctx: { config: TranscoderConfig; signal: AbortSignal; logger: Logger },
  clipStart = 0,
): Promise<Map<string, number>> {
  const { config, logger } = ctx
  const result = new Map<string, number>()
  // Video renditions only: not the thumbnail, not the audio alone (no size).
  const renditions: Rendition[] = written.flatMap(({ profile, path, media }) =>
    media && media.codec !== 'mjpeg' && media.width !== null && media.height !== null
      ? [{ profile, path, width: media.width, height: media.height }]
      : [],
  )
  const length = duration ?? probe.duration
  if (renditions.length === 0 || !length) return result
  const limits = { timeoutMs: RUN_TIMEOUT_MS, signal: ctx.signal, memoryLimitMb: config.memoryLimitMb }
  // The renditions' rate: the source's, or the constant one the encode gave a variable rate.
  const frameRate = Number(outputFps(probe) ?? probe.frameRate) || 0
  const started = performance.now()
  try {
    const timeline = async (path: string, source?: Probe) => {
      const listed = await runProcess(config.FFPROBE_PATH, timelineArgs(path, source), {
        ...limits,
        maxStdout: 64 * 1024 * 1024,
      })
      return parseTimeline(listed.stdout)
    }
    const container = (path: string) => extname(path)
    const firsts = [...new Map(renditions.map((r) => [container(r.path), r.path])).values()]
    const [whole, ...ours] = await Promise.all([timeline(input, probe), ...firsts.map((p) => timeline(p))])
    const source = whole && fromClipStart(whole, clipStart)
    const starts = new Map(firsts.map((path, i) => [container(path), ours[i]?.start ?? 0]))
    const placed = renditions.map((r) => ({ ...r, start: starts.get(container(r.path)) ?? 0 }))
    const times = sampleTimes({
      duration: length,
      frameRate,
      source: source?.keyframes ?? [],
      rendition: ours[0]?.keyframes ?? [],
    })
    const sums = renditions.map(() => ({ total: 0, samples: 0 }))
    for (const at of times) {
      const args = ssimArgs(
        { path: input, probe, start: source?.start ?? 0 },
        placed,
        { at, frameRate },
        { maxPixels: config.MAX_PIXELS, maxDurationSeconds: config.MAX_DURATION_SECONDS },
      )
      const { stderr } = await runProcess(config.FFMPEG_PATH, args, { ...limits, nice: config.FFMPEG_NICE })
      parseSsim(stderr, renditions.length).forEach((value, i) => {
        const sum = sums[i]
        if (value === null || !sum) return
        sum.total += value
        sum.samples++
      })
    }
    renditions.forEach((r, i) => {
      const sum = sums[i]
      if (sum?.samples) result.set(r.profile, Math.round((sum.total / sum.samples) * 1e4) / 1e4)
    })
    logger.info('quality sampled', {
      samples: times.length,
      duration_ms: Math.round(performance.now() - started),
    })
  } catch (error) {
    if (ctx.signal.aborted || !(error instanceof ProcessError)) throw error
    logger.warn('quality not measured', { error: error.message })
  }
  return result
}
