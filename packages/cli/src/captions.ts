import { readFile } from 'node:fs/promises'
import type { Caption, VppClient } from '@vpp/client'
import { type Output, print } from './output.ts'
import { CliError, type CommandSpec, UsageError } from './usage.ts'

const line = (t: Caption) => `${t.caption_id}  ${t.language}  ${t.label}  ${t.url ?? ''}`.trimEnd()

/** `vpp captions add|list|delete`: a completed job's caption tracks. */
export async function captionsCommand(
  client: VppClient,
  command: CommandSpec,
  args: string[],
  values: Record<string, string | boolean | undefined>,
  out: Output,
): Promise<number> {
  const [jobId = '', second = ''] = args
  if (command.name === 'captions list') {
    const list = await client.listCaptions(jobId)
    print(out, list, () => (list.captions.length ? list.captions.map(line).join('\n') : 'no caption tracks'))
    return 0
  }
  if (command.name === 'captions delete') {
    await client.deleteCaptions(jobId, second)
    print(out, { job_id: jobId, caption_id: second, deleted: true }, () => `caption track ${second} deleted`)
    return 0
  }
  const { language, label } = values
  if (typeof language !== 'string' || typeof label !== 'string') {
    throw new UsageError('--language and --label are required', command)
  }
  const bytes = await readFile(second).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${second}: ${error.code ?? error.message}`)
  })
  const track = await client.addCaptions(jobId, new Blob([bytes]), { language, label })
  print(out, track, () => `caption track ${line(track)} added`)
  return 0
}
