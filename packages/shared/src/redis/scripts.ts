import { readdirSync, readFileSync } from 'node:fs'

/**
 * Lua scripts kept as Lua (after bullmq's `src/commands/` and its script loader): each command a
 * file `<name>-<N>.lua`, N the number of KEYS it takes, and the functions scripts share in
 * `includes/<function>.lua`, one a file, pulled in by a line `--- @include "<function>"`. Read once
 * at start; a wrong N or an unknown include fails there, not in Redis.
 */

/** One script, its includes put in. */
export interface LuaScript {
  /** camelCase of the file's name without its N: `finish-chunk-5.lua` is `finishChunk`. */
  readonly name: string
  /** How many KEYS a call passes (the N of its file name; checked against the body). */
  readonly keys: number
  readonly source: string
}

export type ScriptTable<Name extends string = string> = Readonly<Record<Name, LuaScript>>

/** An include's text by its name, or undefined when there is none. */
export type IncludeSource = (name: string) => string | undefined

const INCLUDE_LINE = /^--- @include "([\w-]+)"$/gm
const SCRIPT_FILE = /^([a-z][a-z0-9-]*)-(\d+)\.lua$/

/**
 * Replace each include line with that include's text: once per script, whatever the number of
 * lines naming it, an include's own includes first. Throws on an unknown name.
 */
export function expandIncludes(source: string, include: IncludeSource, seen = new Set<string>()): string {
  return source.replace(INCLUDE_LINE, (_, name: string) => {
    const text = include(name)
    if (text === undefined) throw new Error(`unknown Lua include "${name}"`)
    if (seen.has(name)) return ''
    seen.add(name)
    return expandIncludes(text.trim(), include, seen)
  })
}

/** The highest `KEYS[i]` (a literal i) a source names, comments aside; 0 for none. */
export function highestKey(source: string): number {
  const code = source.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--.*$/gm, '')
  return Math.max(0, ...[...code.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])))
}

/** The includes kept in `dir` (a file URL ending in `/`), one `<name>.lua` each. */
export function includesIn(dir: URL): IncludeSource {
  return (name) => {
    try {
      return readFileSync(new URL(`${name}.lua`, dir), 'utf8')
    } catch {
      return undefined
    }
  }
}

/**
 * A script from its body: includes put in, and its N checked against the highest KEYS[i] its
 * body and includes name (includes take keys as arguments, so theirs is 0).
 */
export function luaScript(file: string, body: string, include: IncludeSource): LuaScript {
  const match = SCRIPT_FILE.exec(file)
  if (!match) throw new Error(`Lua script ${file}: the name must be <name>-<KEYS count>.lua`)
  const [, base = '', count = ''] = match
  const source = expandIncludes(body, include)
  const keys = Number(count)
  const used = highestKey(source)
  if (used !== keys)
    throw new Error(`Lua script ${file}: named for ${keys} KEYS, its body uses KEYS[${used}]`)
  return { name: base.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()), keys, source }
}

/**
 * Every `<name>-<N>.lua` of `dir` (a file URL ending in `/`, e.g. `new URL('./lua/', import.meta.url)`),
 * its includes from `dir/includes/`. With `names`, the table must hold exactly those scripts.
 */
export function loadScripts<Name extends string>(dir: URL, names: readonly Name[]): ScriptTable<Name> {
  const include = includesIn(new URL('includes/', dir))
  const table: Record<string, LuaScript> = {}
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.lua'))) {
    const script = luaScript(file, readFileSync(new URL(file, dir), 'utf8'), include)
    if (table[script.name]) throw new Error(`Lua script ${script.name}: two files in ${dir.pathname}`)
    table[script.name] = script
  }
  const found = Object.keys(table).sort().join(', ')
  if (found !== [...names].sort().join(', ')) {
    throw new Error(
      `Lua scripts in ${dir.pathname}: found ${found}; expected ${[...names].sort().join(', ')}`,
    )
  }
  return table as ScriptTable<Name>
}
