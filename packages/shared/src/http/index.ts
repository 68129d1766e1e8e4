export * from './access.ts'
export * from './observe.ts'
export * from './responses.ts'
export * from './runtime-serve.ts'
