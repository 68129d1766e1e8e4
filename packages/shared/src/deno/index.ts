export * from './serve-static.ts'
