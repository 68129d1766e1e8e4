/**
 * Once before the test files: build the web console (status serves it at `/`; its tests and the
 * browser tests load it), as `npm start` does.
 */
import { buildConsole } from '@vpp/console/build'

export default async function setup() {
  await buildConsole()
}
