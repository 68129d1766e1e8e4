import { describe, expect, it } from 'vitest'
import { displayName, extensionOf, filenameFromUrl, hasAcceptedExtension } from './filenames.ts'

describe('file names', () => {
  it('accepts the seed containers by extension, any case', () => {
    for (const name of ['a.mp4', 'b.MOV', 'c.avi', 'd.mkv', 'e.webm'])
      expect(hasAcceptedExtension(name), name).toBe(true)
    for (const name of ['a.txt', 'mp4', 'a.mp4.exe', '.mp4', 'a.', ''])
      expect(hasAcceptedExtension(name), name).toBe(false)
    expect(extensionOf('movie.final.MKV')).toBe('mkv')
  })

  it('keeps only a safe last path component for display', () => {
    expect(displayName('../../etc/passwd.mp4')).toBe('passwd.mp4')
    expect(displayName('C:\\Users\\me\\clip.mov')).toBe('clip.mov')
    expect(displayName('bad\u0000na\nme.mp4')).toBe('badname.mp4')
    expect(displayName('..')).toBe('video')
    expect(displayName(undefined)).toBe('video')
    expect(displayName(`${'x'.repeat(300)}.mp4`)).toHaveLength(255)
    expect(displayName('clip\u202Egpj.mp4')).toBe('clipgpj.mp4')
    expect(displayName('..\\..\\windows\\win.ini\u0000.mp4')).toBe('win.ini.mp4')
    expect(displayName(`${'a'.repeat(254)}😀.mp4`)).toBe('a'.repeat(254))
  })

  it('names URL imports after their last path segment', () => {
    expect(filenameFromUrl('https://cdn.example.com/media/My%20Clip.mp4?sig=1')).toBe('My Clip.mp4')
    expect(filenameFromUrl('https://example.com/')).toBe('video')
  })
})
