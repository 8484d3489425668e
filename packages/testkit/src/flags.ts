import { parseArgs } from 'node:util'
import { unknownFlag } from '@lameduck/core/adapter'

/** A flag of one of the CLIs (`lameduck-sim`, `lameduck-doctor`): what --help shows and how it parses. */
export interface FlagDoc {
  name: string
  /** The value's placeholder in --help (`ms`, `file.json`); a flag without one is a boolean. */
  value?: string
  help: string
  /** Shown in --help as `(default: …)`: every flag has one, `none` or `off` when unset means nothing. */
  default: string | number
  /** Whether the flag may be repeated (its values collected in an array). */
  multiple?: boolean
}

/** The flags both CLIs end their list with. */
export const COMMON_FLAGS: readonly FlagDoc[] = [
  { name: 'json', help: 'print the result as one JSON object', default: 'off' },
  { name: 'help', help: 'show this help', default: 'off' },
]

/** The options block of --help: one line a flag, its help aligned at `column`. */
export function flagHelp(flags: readonly FlagDoc[], column: number): string {
  return flags
    .map((d) => `  ${`--${d.name}${d.value ? ` <${d.value}>` : ''}`.padEnd(column)} ${d.help} (default: ${d.default})`)
    .join('\n')
}

/**
 * Parses `argv` against `flags`. An unknown flag throws `UnknownOptionError` naming the nearest known one
 * (`--gracee` → "did you mean --grace?"), before parseArgs' own message, which suggests nothing; the value
 * of a flag that takes one is skipped (the value of `--path --x` is `--x`, not a flag); nothing after `--`
 * is read.
 */
export function parseFlags(command: string, flags: readonly FlagDoc[], argv: string[]) {
  const known = flags.map((d) => d.name)
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') break
    if (!arg.startsWith('--')) continue
    const [name, inline] = arg.slice(2).split(/=(.*)/s) as [string, string | undefined]
    const doc = flags.find((d) => d.name === name)
    if (doc) {
      if (doc.value && inline === undefined) i++
      continue
    }
    throw unknownFlag(command, name, known)
  }
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: Object.fromEntries(
      flags.map((d) => [d.name, { type: d.value ? 'string' : 'boolean', multiple: d.multiple ?? false }]),
    ) as Record<string, { type: 'string' | 'boolean'; multiple: boolean }>,
  })
}
