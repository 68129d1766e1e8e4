#!/usr/bin/env node
// `npx vpp`: the CLI is TypeScript, run through tsx as the rest of the repository is
// (`node --import tsx`), registered in this process so that signals and exit codes are its own.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
