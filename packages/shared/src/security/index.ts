export * from './filenames.ts'
export * from './sniff.ts'
export * from './url-policy.ts'
