/**
 * The size targets of the packages' code (`npm run check:size`): no file over 400 lines and no
 * function, method or arrow function over 80 lines in `packages/*\/src/**\/*.{ts,tsx}`, tests
 * (`*.test.ts(x)`) and `packages/*\/src/testing/` aside.
 *
 * A file or function that must be longer says why in a leading comment containing `size:` and a
 * reason, e.g. `// size: one table of every variable, read top to bottom`. For a file that is a
 * comment before its first statement; for a function, a comment before it or before the statement
 * (or property, or call) that holds it. Exempt ones are listed, not counted as violations.
 *
 * Lines are counted from the first token to the last, comments before it not included.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

export const MAX_FILE_LINES = 400
export const MAX_FUNCTION_LINES = 80

export type SizeFinding = {
  /** Path relative to the repository root, with `/`. */
  file: string
  /** 1-based line of the function's first token (1 for a file). */
  line: number
  /** `file`, or the function's name (`(anonymous)` when it has none). */
  name: string
  lines: number
  limit: number
  /** The `size:` reason when exempt. */
  reason?: string
}

export type SizeReport = { violations: SizeFinding[]; exempt: SizeFinding[] }

const ROOT = join(fileURLToPath(import.meta.url), '..', '..')
const EXEMPT = /\bsize:\s*(\S[^\n]*)/

/** Every source file the targets apply to, sorted. */
export function sourceFiles(root = ROOT): string[] {
  const files: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.tsx?$/.test(entry.name) && !/\.(test|d)\.tsx?$/.test(entry.name)) files.push(path)
    }
  }
  for (const pkg of readdirSync(join(root, 'packages'), { withFileTypes: true })) {
    const src = join(root, 'packages', pkg.name, 'src')
    if (!pkg.isDirectory() || !existsSync(src)) continue
    for (const entry of readdirSync(src, { withFileTypes: true })) {
      const path = join(src, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'testing') walk(path)
      } else if (/\.tsx?$/.test(entry.name) && !/\.(test|d)\.tsx?$/.test(entry.name)) files.push(path)
    }
  }
  return files.sort()
}

/** The `size:` reason in the comments that end at `pos` (a node's full start), if any. */
function exemptReason(text: string, pos: number): string | undefined {
  for (const range of ts.getLeadingCommentRanges(text, pos) ?? []) {
    const match = EXEMPT.exec(text.slice(range.pos, range.end))
    if (match?.[1]) return match[1].replace(/\s*\*\/\s*$/, '').trim()
  }
  return undefined
}

/** A node a function may hang from: its comment is the function's too. Stops at a statement. */
function holders(node: ts.Node): ts.Node[] {
  const chain = [node]
  let current = node
  while (
    current.parent &&
    !ts.isSourceFile(current.parent) &&
    !ts.isBlock(current.parent) &&
    !ts.isModuleBlock(current.parent) &&
    !ts.isClassLike(current.parent) &&
    !ts.isObjectLiteralExpression(current.parent) &&
    !ts.isCaseOrDefaultClause(current.parent) &&
    !ts.isFunctionLike(current.parent)
  ) {
    current = current.parent
    chain.push(current)
  }
  return chain
}

function functionName(node: ts.FunctionLikeDeclaration): string {
  if (node.name && !ts.isComputedPropertyName(node.name)) return node.name.getText()
  if (ts.isConstructorDeclaration(node)) return 'constructor'
  const parent = node.parent
  if (
    (ts.isVariableDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent)) &&
    !ts.isComputedPropertyName(parent.name)
  )
    return parent.name.getText()
  if (ts.isCallExpression(parent) || ts.isNewExpression(parent))
    return `(callback of ${ts.isNewExpression(parent) ? 'new ' : ''}${parent.expression.getText().slice(0, 40)})`
  return '(anonymous)'
}

/** The findings of one file's text; `file` is only used to name them. */
export function checkText(file: string, text: string): SizeReport {
  const report: SizeReport = { violations: [], exempt: [] }
  const source = ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.Latest,
    true,
    file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  )
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1
  const record = (finding: SizeFinding) =>
    (finding.reason === undefined ? report.violations : report.exempt).push(finding)

  const fileLines = text.replace(/\n$/, '').split('\n').length
  if (fileLines > MAX_FILE_LINES)
    record({
      file,
      line: 1,
      name: 'file',
      lines: fileLines,
      limit: MAX_FILE_LINES,
      reason: exemptReason(text, 0),
    })

  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration
      const start = fn.getStart(source)
      const lines = lineOf(fn.getEnd()) - lineOf(start) + 1
      if (lines > MAX_FUNCTION_LINES) {
        const reason = holders(fn)
          .map((holder) => exemptReason(text, holder.getFullStart()))
          .find((r) => r !== undefined)
        record({
          file,
          line: lineOf(start),
          name: functionName(fn),
          lines,
          limit: MAX_FUNCTION_LINES,
          reason,
        })
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return report
}

/** The findings of every source file under `root`. */
export function checkSize(root = ROOT): SizeReport {
  const report: SizeReport = { violations: [], exempt: [] }
  for (const path of sourceFiles(root)) {
    const file = relative(root, path).split('\\').join('/')
    const { violations, exempt } = checkText(file, readFileSync(path, 'utf8'))
    report.violations.push(...violations)
    report.exempt.push(...exempt)
  }
  return report
}

export function formatFinding(f: SizeFinding): string {
  const where = f.name === 'file' ? f.file : `${f.file}:${f.line} ${f.name}`
  return `  ${where}: ${f.lines} lines (limit ${f.limit})${f.reason === undefined ? '' : `, size: ${f.reason}`}`
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { violations, exempt } = checkSize()
  if (exempt.length > 0) console.log(`exempt (${exempt.length}):\n${exempt.map(formatFinding).join('\n')}`)
  if (violations.length > 0) {
    console.log(`over the size targets (${violations.length}):\n${violations.map(formatFinding).join('\n')}`)
    process.exitCode = 1
  } else console.log('size targets met: no file over 400 lines, no function over 80')
}
