import { describe, expect, it } from 'vitest'
import { buildArgs } from '../build-args.ts'
import type { Probe } from '../probe.ts'
import { audioSources, measureArgs, normalizationType, normalizeFilter, parseLoudnorm } from './loudness.ts'

/** The end of pass 1's stderr as ffmpeg 5.1 prints it (-loglevel info): stream lines, stats, the JSON. */
const STDERR = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/up/job1':
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 69 kb/s (default)
Output #0, null, to 'pipe:':
  Stream #0:0(und): Audio: pcm_s16le, 192000 Hz, mono, s16, 3072 kb/s (default)
size=N/A time=00:00:04.01 bitrate=N/A speed=77.6x
video:0kB audio:1504kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: unknown
[Parsed_loudnorm_0 @ 0x565180ef6280] 
{
\t"input_i" : "-51.76",
\t"input_tp" : "-47.18",
\t"input_lra" : "0.10",
\t"input_thresh" : "-61.76",
\t"output_i" : "-16.00",
\t"output_tp" : "-11.39",
\t"output_lra" : "0.00",
\t"output_thresh" : "-26.00",
\t"normalization_type" : "dynamic",
\t"target_offset" : "0.00"
}
`
const QUIET = { input_i: -51.76, input_tp: -47.18, input_lra: 0.1, input_thresh: -61.76, target_offset: 0 }
const INPUT = ['-protocol_whitelist', 'file', '-f', 'mov', '-i', 'file:/up/job1']

describe('loudness: pass 1', () => {
  it('measures the first audio track at -loglevel info (error hides the JSON), with progress', () => {
    // biome-ignore format: flag and value on one line
    expect(measureArgs(INPUT)).toEqual([
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-progress', 'pipe:1', '-stats_period', '0.5',
      ...INPUT, '-map', '0:a:0', '-vn',
      '-af', 'loudnorm=I=-16:TP=-1.5:LRA=11:print_format=json', '-f', 'null', '-',
    ])
  })

  it('reads the last {...} block of stderr; nothing when there is none or it is cut short', () => {
    expect(parseLoudnorm(STDERR)).toEqual(QUIET)
    expect(parseLoudnorm(`{"input_i":"-1"}\n${STDERR}`)).toEqual(QUIET)
    expect(parseLoudnorm('Conversion failed!')).toBeNull()
    expect(parseLoudnorm(STDERR.slice(0, -20))).toBeNull()
    expect(parseLoudnorm(STDERR.replace('"-51.76"', '"n/a"'))).toBeNull()
    // A silent track: -inf, kept as such (normalizeFilter leaves it alone).
    const silent = parseLoudnorm(STDERR.replace('"-51.76"', '"-inf"').replace('"-47.18"', '"-inf"'))
    expect(silent?.input_i).toBe(Number.NEGATIVE_INFINITY)
    expect(silent && normalizeFilter(silent)).toBeNull()
  })
})

describe('loudness: pass 2', () => {
  it('normalises with the measurement, linearly when it can, back at 48 kHz', () => {
    expect(normalizeFilter(QUIET)).toBe(
      'loudnorm=I=-16:TP=-1.5:LRA=11:measured_I=-51.76:measured_TP=-47.18:measured_LRA=0.10:' +
        'measured_thresh=-61.76:offset=0.00:linear=true:print_format=summary,aresample=48000',
    )
  })

  it('says which mode loudnorm takes: linear unless the gain would push the peak past TP, or the range is wide', () => {
    expect(normalizationType(QUIET)).toBe('linear')
    // -20 LUFS peaking at -3 dBTP: +4 dB would peak at +1.
    expect(normalizationType({ ...QUIET, input_i: -20, input_tp: -3 })).toBe('dynamic')
    expect(normalizationType({ ...QUIET, input_i: -22, input_tp: -16.08, input_lra: 21.5 })).toBe('dynamic')
  })

  it('feeds every audio output from one loudnorm, split; the stream itself without a measurement', () => {
    expect(audioSources('0:a:0', 2)).toEqual({ graph: null, maps: ['0:a:0', '0:a:0'] })
    expect(audioSources('0:a:0', 2, QUIET)).toEqual({
      graph: `[0:a:0]${normalizeFilter(QUIET)},asplit=2[anorm0][anorm1]`,
      maps: ['[anorm0]', '[anorm1]'],
    })
    expect(audioSources('0:a:0', 0, QUIET)).toEqual({ graph: null, maps: [] })
  })

  it('normalises every rendition of a single run from the measurement', () => {
    const probe: Probe = {
      width: 640,
      height: 360,
      rotation: 0,
      duration: 4,
      videoCodec: 'h264',
      pixFmt: 'yuv420p',
      frameRate: 24,
      variableFrameRate: false,
      hasAudio: true,
      demuxer: 'mov',
      formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
      streams: 2,
      videoIndex: 0,
    }
    const profiles = [
      {
        name: '360p',
        kind: 'video',
        codec: 'h264',
        width: 640,
        height: 360,
        videoBitrateKbps: 800,
        audioBitrateKbps: 96,
        container: 'mp4',
      },
      {
        name: 'webm_360p',
        kind: 'video',
        codec: 'vp9',
        width: 640,
        height: 360,
        videoBitrateKbps: 600,
        audioBitrateKbps: 96,
        container: 'webm',
      },
    ] as const
    const { runs } = buildArgs({ input: '/up/job1', outDir: '/out' }, profiles, probe, {
      threads: 0,
      loudness: QUIET,
    })
    const keyframes = ['-force_key_frames', 'expr:gte(t,n_forced*2)']
    // biome-ignore format: flag and value on one line
    expect(runs[0]?.args).toEqual([
      '-hide_banner', '-nostdin', '-y', '-loglevel', 'error', '-progress', 'pipe:1', '-stats_period', '0.5',
      '-protocol_whitelist', 'file', '-format_whitelist', 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi',
      '-f', 'mov', '-enable_drefs', '0', '-i', 'file:/up/job1',
      '-filter_complex',
      '[0:0]split=2[s0][s1];[s0]scale=-2:360,format=yuv420p[v0];[s1]scale=-2:360,format=yuv420p[v1];' +
        `[0:a:0]${normalizeFilter(QUIET)},asplit=2[anorm0][anorm1]`,
      '-map', '[v0]', '-map', '[anorm0]',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-crf', '21', '-maxrate', '800k', '-bufsize', '1600k', ...keyframes,
      '-c:a', 'aac', '-b:a', '96k', '-ac', '2', '-movflags', '+faststart', '-f', 'mp4', '/out/360p.mp4',
      '-map', '[v1]', '-map', '[anorm1]',
      '-c:v', 'libvpx-vp9', '-crf', '33', '-b:v', '600k', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', ...keyframes,
      '-c:a', 'libopus', '-b:a', '96k', '-ac', '2', '-f', 'webm', '/out/webm_360p.webm',
    ])
  })
})
