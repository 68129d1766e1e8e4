import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * Every relative link and `#anchor` of README.md and docs/*.md resolves: the file exists, and the
 * anchor is a heading of it as GitHub slugs headings (or an explicit `id`/`name`).
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
]

/** The text outside fenced code blocks and inline code, where links and headings are. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/(`+)[^`\n]*?\1/g, (code) => (code.startsWith('``') ? '' : code))
}

/** GitHub's anchor of a heading's text: lowercase, punctuation but - and _ dropped, spaces to -. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link shows its text
    .replace(/<[^>]+>/g, '') // inline HTML shows nothing
    .replace(/[`*]/g, '')
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** The anchors a Markdown file has: its headings' slugs (repeats get -1, -2, ...) and explicit ids. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>()
  const seen = new Map<string, number>()
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
  for (const match of text.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(match[1] ?? '')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    found.add(count === 0 ? base : `${base}-${count}`)
  }
  for (const match of text.matchAll(/<[a-z]+[^>]*\s(?:id|name)="([^"]+)"/gi)) found.add(match[1] ?? '')
  return found
}

/** The link targets of a Markdown file: inline `[text](target)` and `[label]: target` definitions. */
function links(markdown: string): string[] {
  const text = prose(markdown)
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '')
  const defined = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$/gm)].map((m) => m[1] ?? '')
  return [...inline, ...defined]
}

/** `file: target` for every link of `file` that does not resolve. */
function brokenLinks(file: string): string[] {
  const source = readFileSync(join(ROOT, file), 'utf8')
  return links(source)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target)) // http:, mailto:, ...
    .filter((target) => {
      const [path = '', anchor] = target.split('#', 2)
      const absolute = path ? resolve(dirname(join(ROOT, file)), decodeURIComponent(path)) : join(ROOT, file)
      if (!existsSync(absolute)) return true
      if (anchor === undefined || !absolute.endsWith('.md') || statSync(absolute).isDirectory()) return false
      return !anchors(readFileSync(absolute, 'utf8')).has(decodeURIComponent(anchor))
    })
    .map((target) => `${relative(ROOT, join(ROOT, file))}: ${target}`)
}

describe('documentation links', () => {
  it('slugs headings as GitHub does', () => {
    expect(slug('Redis high availability')).toBe('redis-high-availability')
    expect(slug('`vpp` and `@vpp/client`: the CLI')).toBe('vpp-and-vppclient-the-cli')
    expect(slug('What "Used by" means (and why)')).toBe('what-used-by-means-and-why')
    expect(slug('snake_case & [a link](x.md)')).toBe('snake_case--a-link')
    expect([...anchors('# A\n## A\n```\n# A\n```\n### A\n<a id="here"></a>')]).toEqual([
      'a',
      'a-1',
      'a-2',
      'here',
    ])
  })

  it.each(DOCS)('%s: every relative link and anchor resolves', (file) => {
    expect(brokenLinks(file)).toEqual([])
  })
})
