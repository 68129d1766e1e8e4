import { describe, expect, it } from 'vitest'
import { createLogger } from './logger.ts'

describe('createLogger (JSON)', () => {
  it('writes { time, level, service, msg, ...fields } lines at and above its level, children adding fields', () => {
    const lines: string[] = []
    const logger = createLogger({
      service: 'svc',
      format: 'json',
      level: 'info',
      write: (l) => lines.push(l),
    })
    logger.debug('hidden', { a: 1 })
    logger.info('plain')
    logger.warn('with', { job_id: 'j1', n: 2 })
    const child = logger.child({ job_id: 'j2' })
    child.error('child', { code: 'x' })
    child.child({ attempt: 3 }).info('grandchild', { job_id: 'j3' })
    expect(lines.every((line) => line.endsWith('}\n'))).toBe(true)
    const parsed = lines.map((line) => JSON.parse(line))
    expect(parsed.map((p) => Object.keys(p))).toEqual([
      ['time', 'level', 'service', 'msg'],
      ['time', 'level', 'service', 'msg', 'job_id', 'n'],
      ['time', 'level', 'service', 'msg', 'job_id', 'code'],
      ['time', 'level', 'service', 'msg', 'job_id', 'attempt'],
    ])
    expect(parsed.map(({ time: _time, ...rest }) => rest)).toEqual([
      { level: 'info', service: 'svc', msg: 'plain' },
      { level: 'warn', service: 'svc', msg: 'with', job_id: 'j1', n: 2 },
      { level: 'error', service: 'svc', msg: 'child', job_id: 'j2', code: 'x' },
      { level: 'info', service: 'svc', msg: 'grandchild', job_id: 'j3', attempt: 3 },
    ])
    expect(new Date(parsed[0].time).toISOString()).toBe(parsed[0].time)
  })

  it('writes nothing when silent, errors only at error, everything at debug', () => {
    const count = (level: 'silent' | 'error' | 'debug') => {
      const lines: string[] = []
      const logger = createLogger({ service: 's', format: 'json', level, write: (l) => lines.push(l) })
      for (const type of ['debug', 'info', 'warn', 'error'] as const) logger[type]('m')
      return lines.map((line) => JSON.parse(line).level)
    }
    expect(count('silent')).toEqual([])
    expect(count('error')).toEqual(['error'])
    expect(count('debug')).toEqual(['debug', 'info', 'warn', 'error'])
  })
})
