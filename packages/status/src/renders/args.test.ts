import { describe, expect, it } from 'vitest'
import { animatedArgs, sourceInput, thumbnailArgs } from './args.ts'

const THUMB = { kind: 'thumbnail', timeMs: 12_500, width: 640 } as const
const ANIM = { kind: 'animated', startMs: 1000, endMs: 3500, fps: 15, width: 320 } as const

describe('render arguments', () => {
  it('takes one frame of a local rendition at the time, scaled to the width', () => {
    expect(thumbnailArgs('/data/output/j1/720p.mp4', THUMB, '/tmp/r/thumb-t12500-w640.jpg')).toEqual([
      '-hide_banner',
      '-nostdin',
      '-y',
      '-loglevel',
      'error',
      '-protocol_whitelist',
      'file',
      '-f',
      'mp4',
      '-enable_drefs',
      '0',
      '-ss',
      '12.5',
      '-i',
      'file:/data/output/j1/720p.mp4',
      '-map',
      '0:v:0',
      '-frames:v',
      '1',
      '-vf',
      'scale=640:-2',
      '-q:v',
      '3',
      '-update',
      '1',
      '-f',
      'image2',
      '/tmp/r/thumb-t12500-w640.jpg',
    ])
  })

  it('makes an animated WebP of a presigned S3 rendition, with only the protocols https needs', () => {
    const url = 'https://s3.example.com/b/outputs/j1/720p.mp4?X-Amz-Signature=abc'
    expect(animatedArgs(url, ANIM, '/tmp/r/a.webp')).toEqual([
      '-hide_banner',
      '-nostdin',
      '-y',
      '-loglevel',
      'error',
      '-protocol_whitelist',
      'https,tls,tcp',
      '-f',
      'mp4',
      '-enable_drefs',
      '0',
      '-ss',
      '1',
      '-t',
      '2.5',
      '-i',
      url,
      '-an',
      '-vf',
      'fps=15,scale=320:-2:flags=lanczos',
      '-c:v',
      'libwebp_anim',
      '-quality',
      '70',
      '-compression_level',
      '4',
      '-loop',
      '0',
      '-f',
      'webp',
      '/tmp/r/a.webp',
    ])
  })

  it('allows http and tcp alone for an http endpoint (a test S3 server, MinIO in a cluster)', () => {
    expect(sourceInput('http://127.0.0.1:9000/b/k')).toEqual([
      '-protocol_whitelist',
      'http,tcp',
      '-f',
      'mp4',
      '-enable_drefs',
      '0',
    ])
  })
})
