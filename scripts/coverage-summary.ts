/**
 * Line and branch coverage per package, from vitest's `coverage/coverage-summary.json` (run by
 * `npm run coverage`, and by CI after its tests).
 */
import { readFile } from 'node:fs/promises'

type Totals = { total: number; covered: number }
type Summary = Record<string, { lines: Totals; branches: Totals }>

const summary = JSON.parse(await readFile('coverage/coverage-summary.json', 'utf8')) as Summary
const packages = new Map<string, { lines: Totals; branches: Totals }>()
for (const [file, entry] of Object.entries(summary)) {
  const name = /packages\/([^/]+)\//.exec(file)?.[1]
  if (!name) continue
  const sum = packages.get(name) ?? { lines: { total: 0, covered: 0 }, branches: { total: 0, covered: 0 } }
  for (const kind of ['lines', 'branches'] as const) {
    sum[kind].total += entry[kind].total
    sum[kind].covered += entry[kind].covered
  }
  packages.set(name, sum)
}
const pct = ({ covered, total }: Totals) => (total === 0 ? '-' : `${((100 * covered) / total).toFixed(1)} %`)
console.log('\ncoverage by package (lines, branches)')
for (const [name, sum] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`  ${name.padEnd(12)} ${pct(sum.lines).padStart(8)} ${pct(sum.branches).padStart(8)}`)
}
console.log(
  `  ${'all'.padEnd(12)} ${pct(summary.total?.lines ?? { total: 0, covered: 0 }).padStart(8)} ${pct(summary.total?.branches ?? { total: 0, covered: 0 }).padStart(8)}`,
)
