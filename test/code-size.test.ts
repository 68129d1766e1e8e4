/**
 * The size targets of issue 28 hold: no source file over 400 lines, no function over 80, unless a
 * `size:` comment says why (scripts/check-size.ts, `npm run check:size`).
 */
import { describe, expect, it } from 'vitest'
import { checkSize, checkText, formatFinding } from '../scripts/check-size.ts'

const body = (n: number) => Array.from({ length: n }, (_, i) => `  const a${i} = ${i}`).join('\n')

describe('code size', () => {
  it('finds a long function and honours a size: comment', () => {
    const text = `// size: one table\nexport function f() {\n${body(85)}\n}\nconst g = () => {\n${body(85)}\n}\n`
    const report = checkText('a.ts', text)
    expect(report.violations.map((f) => [f.name, f.lines])).toEqual([['g', 87]])
    expect(report.exempt.map((f) => [f.name, f.reason])).toEqual([['f', 'one table']])
  })

  it('finds a long file', () => {
    expect(checkText('b.ts', `${body(401)}\n`).violations.map((f) => [f.name, f.lines])).toEqual([
      ['file', 401],
    ])
  })

  it('no file over 400 lines and no function over 80 in packages/*/src, unless a size: comment says why', () => {
    const { violations } = checkSize()
    expect(violations.map(formatFinding)).toEqual([])
  })
})
