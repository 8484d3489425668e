import { InvalidOptionError } from '@lameduck/core'

/**
 * Splits a command line into argv the simple way, because the kubelet's exec hook has no shell: words are
 * separated by white space; `'…'` keeps everything inside as is; `"…"` too, except that `\"` and `\\` stand
 * for `"` and `\`; outside quotes, `\` keeps the next character as is. Nothing else is special: no `$VAR`,
 * no globs, no `|`, `&&` or redirections — write `sh -c '…'` for those, as a manifest would.
 *
 * @param option the flag named in the error, e.g. `--prestop-exec`
 */
export function splitCommand(option: string, line: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: "'" | '"' | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
    } else if (quote === '"') {
      if (c === '"') quote = undefined
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i]
      else word += c
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      inWord = true
      if (c === "'" || c === '"') quote = c
      else if (c === '\\') {
        if (i + 1 === line.length) throw new InvalidOptionError(option, `a \\ ends the command: ${line}`)
        word += line[++i]
      } else word += c
    }
  }
  if (quote) throw new InvalidOptionError(option, `unterminated ${quote} in the command: ${line}`)
  if (inWord) words.push(word)
  if (words.length === 0)
    throw new InvalidOptionError(option, 'expected a command, e.g. "node prestop.mjs"; got nothing')
  return words
}

/** argv as one line that {@link splitCommand} reads back: words with spaces or quotes in single quotes. */
export function joinCommand(argv: readonly string[]): string {
  return argv
    .map((word) => (word !== '' && /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`))
    .join(' ')
}
