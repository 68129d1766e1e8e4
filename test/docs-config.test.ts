import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { CONFIG_DOC, configRows, renderConfigDoc } from '../scripts/docs-config.ts'

describe('docs/configuration.md', () => {
  it('holds the variable table the config schemas make', () => {
    const committed = readFileSync(CONFIG_DOC, 'utf8')
    expect(committed, 'docs/configuration.md is stale: run `npm run docs:config`').toBe(
      renderConfigDoc(committed),
    )
  })

  it('says which services read a variable, from their configs', () => {
    const rows = configRows({
      a: { SHARED: z.string().default('x').describe('both'), ONLY_A: z.string().optional().describe('one') },
      b: { SHARED: z.string().default('x') },
    })
    expect(rows).toEqual([
      { name: 'SHARED', default: '`x`', usedBy: 'all', description: 'both' },
      { name: 'ONLY_A', default: 'none', usedBy: 'a', description: 'one' },
    ])
  })

  it('refuses a variable described twice, or never', () => {
    const twice = { a: { X: z.string().describe('one') }, b: { X: z.string().describe('other') } }
    expect(() => configRows(twice)).toThrow('X: expected one .describe() text, found 2')
    expect(() => configRows({ a: { Y: z.string() } })).toThrow('Y: expected one .describe() text, found 0')
  })
})
