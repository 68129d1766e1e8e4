/**
 * The one process runner (setpriv pdeathsig, nice, timeouts, process-group kill) lives in
 * `@vpp/shared/node` since status runs ffmpeg too (on-demand renders); the transcoder's modules
 * import it from here.
 */
export {
  childEnv,
  lastLine,
  memoryLimit,
  ProcessError,
  type RunOptions,
  type RunResult,
  runProcess,
  wrapCommand,
} from '@vpp/shared/node'
