import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { expandIncludes, highestKey, loadScripts } from './scripts.ts'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A folder of Lua files (`includes/x.lua` for includes), as a file URL ending in `/`. */
function luaDir(files: Record<string, string>): URL {
  const dir = mkdtempSync(join(tmpdir(), 'vpp-lua-'))
  dirs.push(dir)
  mkdirSync(join(dir, 'includes'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return pathToFileURL(`${dir}/`)
}

describe('loadScripts', () => {
  it('loads name-N.lua files as camelCase names, includes put in once, an include of an include first', () => {
    const dir = luaDir({
      'take-job-2.lua': '--- @include "b"\n--- @include "a"\nreturn a(KEYS[1], KEYS[2])',
      'includes/a.lua': '--- @include "b"\nlocal function a(x, y) return b(x) end',
      'includes/b.lua': 'local function b(x) return x end',
    })
    const { takeJob } = loadScripts(dir, ['takeJob'])
    expect(takeJob?.keys).toBe(2)
    expect(takeJob?.source).toBe(
      'local function b(x) return x end\n\nlocal function a(x, y) return b(x) end\nreturn a(KEYS[1], KEYS[2])',
    )
  })

  it('fails at load when the N of a file name is not the highest KEYS its body uses', () => {
    const more = luaDir({ 'take-job-1.lua': 'return {KEYS[1], KEYS[2]}' })
    expect(() => loadScripts(more, ['takeJob'])).toThrow(
      'take-job-1.lua: named for 1 KEYS, its body uses KEYS[2]',
    )
    const fewer = luaDir({ 'take-job-3.lua': '-- KEYS[3] only named in a comment\nreturn KEYS[2]' })
    expect(() => loadScripts(fewer, ['takeJob'])).toThrow('named for 3 KEYS, its body uses KEYS[2]')
    const unnamed = luaDir({ 'take-job.lua': 'return 1' })
    expect(() => loadScripts(unnamed, ['takeJob'])).toThrow('the name must be <name>-<KEYS count>.lua')
  })

  it('fails at load on an unknown include, and on a script missing or unexpected', () => {
    const dir = luaDir({ 'take-job-0.lua': '--- @include "no_such"\nreturn 1' })
    expect(() => loadScripts(dir, ['takeJob'])).toThrow('unknown Lua include "no_such"')
    const other = luaDir({ 'take-job-0.lua': 'return 1' })
    expect(() => loadScripts(other, ['giveJob'])).toThrow('found takeJob; expected giveJob')
  })

  it('counts the KEYS of includes too, and ignores comments', () => {
    expect(highestKey('--[[ KEYS[9] ]]\nlocal x = KEYS[2] -- KEYS[7]\nreturn KEYS[10]')).toBe(10)
    expect(expandIncludes('--- @include "k"\nreturn 1', () => 'local k = KEYS[4]')).toContain('KEYS[4]')
  })
})
