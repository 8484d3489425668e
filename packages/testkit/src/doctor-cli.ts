import { LameduckError } from '@lameduck/core'
import { checkManifests, type DoctorResult } from './doctor.js'
import { DOCTOR_FINDING_CODES } from './doctor-findings.js'
import { type DoctorPlan, readDoctorPlan } from './doctor-plan.js'
import { readManifestSources } from './doctor-yaml.js'
import { COMMON_FLAGS, type FlagDoc, flagHelp, parseFlags } from './flags.js'

const FLAGS: readonly FlagDoc[] = [
  {
    name: 'plan',
    value: 'file.json',
    help: 'the service’s plan, as writeDoctorPlan() writes it',
    default: 'none: the checks that need it are skipped',
  },
  {
    name: 'container',
    value: 'name',
    help: 'a container of the service; repeatable',
    default: 'those that declare the plan’s port (no plan: any port), else all',
    multiple: true,
  },
  {
    name: 'ignore',
    value: 'code',
    help: 'leave out findings of this code; repeatable',
    default: 'none',
    multiple: true,
  },
  ...COMMON_FLAGS,
]

export const DOCTOR_HELP = `lameduck-doctor — check Kubernetes manifests against a lameduck service's shutdown plan, offline.

Usage: lameduck-doctor [options] <file|folder|->…

Reads every YAML document of the files, of the .yaml/.yml files below a folder, or of stdin (-), e.g.
  helm template my-release ./chart | lameduck-doctor --plan lameduck-plan.json -
Checks Deployments, StatefulSets, DaemonSets and Pods (with the PodDisruptionBudgets and
HorizontalPodAutoscalers of the same input). Each finding: file:line, its code, what is wrong, the fix.

Options:
${flagHelp(FLAGS, 22)}

Finding codes (each also accepted without LAMEDUCK_DOCTOR_ by --ignore):
${DOCTOR_FINDING_CODES.map((c) => `  ${c}`).join('\n')}

Exit codes: 0 no finding; 1 findings; 2 bad input: an unreadable file, invalid YAML, no workload, a wrong
flag, a plan file that is not what writeDoctorPlan() writes.
`

type Io = { out: (s: string) => void; err: (s: string) => void }

const defaultIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
}

/** Runs `lameduck-doctor`; resolves to its exit code. `stdin` is read for the input `-`. */
export async function doctorMain(
  argv: string[],
  io: Io = defaultIo,
  stdin: AsyncIterable<string | Buffer> = process.stdin,
): Promise<number> {
  try {
    const parsed = parse(argv)
    if (parsed === 'help') {
      io.out(DOCTOR_HELP)
      return 0
    }
    const plan: DoctorPlan | undefined = parsed.plan === undefined ? undefined : await readDoctorPlan(parsed.plan)
    const sources = await readManifestSources(parsed.inputs, stdin)
    const result = checkManifests(sources, {
      ...(plan ? { plan } : {}),
      ...(parsed.containers.length ? { containers: parsed.containers } : {}),
      ignore: parsed.ignore,
    })
    io.out(parsed.json ? `${JSON.stringify(result)}\n` : format(result))
    return result.passed ? 0 : 1
  } catch (error) {
    const code = error instanceof LameduckError ? ` [${error.code}]` : ''
    io.err(`lameduck-doctor: ${(error as Error).message}${code}\n`)
    if (error instanceof LameduckError && /OPTION/.test(error.code)) io.err('Run lameduck-doctor --help for usage.\n')
    return 2
  }
}

function parse(argv: string[]) {
  let parsed: ReturnType<typeof parseFlags>
  try {
    parsed = parseFlags('lameduck-doctor', FLAGS, argv)
  } catch (error) {
    if (error instanceof LameduckError) throw error
    throw new Error((error as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) return 'help' as const
  if (positionals.length === 0) throw new Error('missing the manifests: a file, a folder, or - for stdin')
  return {
    inputs: positionals,
    plan: values.plan as string | undefined,
    containers: (values.container as string[] | undefined) ?? [],
    ignore: (values.ignore as string[] | undefined) ?? [],
    json: Boolean(values.json),
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function format(result: DoctorResult): string {
  const lines: string[] = []
  for (const f of result.findings) {
    lines.push(
      `${f.file}:${f.line}:${f.column}  ${f.code}  ${f.object}${f.container ? ` (container ${f.container})` : ''}`,
    )
    lines.push(`  ${f.message}`)
    lines.push(`  fix: ${f.fix}`)
    lines.push('')
  }
  const checked = `${plural(result.checked.length, 'workload')} checked (${result.checked.join(', ')})`
  lines.push(result.passed ? `no finding: ${checked}` : `${plural(result.findings.length, 'finding')}; ${checked}`)
  if (result.notChecked.length)
    lines.push(`not checked: ${result.notChecked.join(', ')}${result.checkedInPart.length ? ' (no --plan)' : ''}`)
  if (result.checkedInPart.length) lines.push(`checked in part without --plan: ${result.checkedInPart.join(', ')}`)
  return `${lines.join('\n')}\n`
}
