export * from './make-clip.ts'
