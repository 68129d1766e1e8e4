import { describe, expect, it } from 'vitest'
import { ConfigError } from './api/errors.ts'
import { apiKeysVar, baseConfigShape, boolVar, parseEnv, parseSize, resolvePaths } from './config.ts'

describe('parseSize', () => {
  it('reads plain bytes and binary units, any case', () => {
    expect(parseSize('1048576')).toBe(1048576)
    expect(parseSize('500MB')).toBe(500 * 1024 * 1024)
    expect(parseSize('1GB')).toBe(1024 ** 3)
    expect(parseSize('1.5 gib')).toBe(1.5 * 1024 ** 3)
    expect(parseSize('64k')).toBe(65536)
  })

  it('refuses what is not a size', () => {
    for (const bad of ['', 'MB', 'lots', '-5MB', '5 parsecs', '0', '1e3'])
      expect(parseSize(bad)).toBeUndefined()
  })
})

describe('parseEnv', () => {
  it('applies the documented defaults', () => {
    const config = parseEnv(baseConfigShape, {})
    expect(config.REDIS_URL).toBe('redis://localhost:6379')
    expect(config.MAX_FILE_SIZE).toBe(500 * 1024 * 1024)
    expect(config.DATA_DIR).toBe('./data')
    expect(config.REDIS_KEY_PREFIX).toBe('vpp')
    expect(resolvePaths(config)).toEqual({
      dataDir: './data',
      uploadDir: './data/uploads',
      outputDir: './data/output',
    })
  })

  it('treats empty values as unset and lets UPLOAD_DIR / OUTPUT_DIR override DATA_DIR', () => {
    const config = parseEnv(baseConfigShape, {
      MAX_FILE_SIZE: '',
      DATA_DIR: '/srv/video/',
      OUTPUT_DIR: '/mnt/out',
    })
    expect(config.MAX_FILE_SIZE).toBe(500 * 1024 * 1024)
    expect(resolvePaths(config)).toEqual({
      dataDir: '/srv/video',
      uploadDir: '/srv/video/uploads',
      outputDir: '/mnt/out',
    })
  })

  it('names every bad variable in one error', () => {
    const parse = () =>
      parseEnv(baseConfigShape, { MAX_FILE_SIZE: 'huge', REDIS_URL: 'http://x', LOG_FORMAT: 'xml' })
    expect(parse).toThrow(ConfigError)
    expect(parse).toThrow(/MAX_FILE_SIZE="huge": expected a size like 500MB/)
    expect(parse).toThrow(/REDIS_URL="http:\/\/x": expected a redis:\/\/ or rediss:\/\/ URL/)
    expect(parse).toThrow(/LOG_FORMAT="xml"/)
  })

  it('reads API_KEYS as a list, refuses weak keys, and never echoes a key in the error', () => {
    const shape = { API_KEYS: apiKeysVar, URL_IMPORT_ALLOW_PRIVATE: boolVar(false) }
    expect(parseEnv(shape, {})).toEqual({ API_KEYS: [], URL_IMPORT_ALLOW_PRIVATE: false })
    expect(
      parseEnv(shape, {
        API_KEYS: ' key-one-0123456789abcdef, key-two-0123456789abcdef ',
        URL_IMPORT_ALLOW_PRIVATE: 'true',
      }),
    ).toEqual({
      API_KEYS: ['key-one-0123456789abcdef', 'key-two-0123456789abcdef'],
      URL_IMPORT_ALLOW_PRIVATE: true,
    })
    const weak = () => parseEnv(shape, { API_KEYS: 'key-one-0123456789abcdef,hunter2' })
    expect(weak).toThrow(/API_KEYS=\(hidden\): each key must be 16\+ characters/)
    expect(weak).not.toThrow(/hunter2|key-one/)
    expect(() => parseEnv(shape, { URL_IMPORT_ALLOW_PRIVATE: 'maybe' })).toThrow(
      /URL_IMPORT_ALLOW_PRIVATE="maybe": expected true or false/,
    )
  })
})
