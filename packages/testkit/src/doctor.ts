import { describeValue, InvalidOptionError, UnknownOptionError } from '@lameduck/core'
import { checkOptions, closest } from '@lameduck/core/adapter'
import { checkObjects, objectName } from './doctor-checks.js'
import { DoctorError } from './doctor-errors.js'
import {
  DOCTOR_FINDING_CODES,
  DOCTOR_PLAN_ONLY,
  DOCTOR_PLAN_PARTLY,
  type DoctorFinding,
  type DoctorFindingCode,
} from './doctor-findings.js'
import { type DoctorPlan, parseDoctorPlan } from './doctor-plan.js'
import { type ManifestSource, parseManifests } from './doctor-yaml.js'

/** Options of {@link checkManifests}. */
export interface DoctorOptions {
  /** The service's plan (`readDoctorPlan`, `doctorPlan`): without it, the checks of `DOCTOR_PLAN_ONLY` do not run. */
  plan?: DoctorPlan
  /**
   * The names of the service's containers. Default: the containers that declare the plan's `http.port`
   * (without a plan: that declare a port), or all of a pod's containers when none does.
   */
  containers?: readonly string[]
  /** Finding codes to leave out (`LAMEDUCK_DOCTOR_PDB_MISSING`, or `PDB_MISSING`). */
  ignore?: readonly string[]
}

/** What {@link checkManifests} found. */
export interface DoctorResult {
  /** No finding: what the CLI's exit code 0 means. */
  passed: boolean
  /** By file, then line. */
  findings: DoctorFinding[]
  /** The workloads whose containers were checked, as `Kind/name`. */
  checked: string[]
  /** Codes not checked: those that need the plan when there is none, and the ignored ones. */
  notChecked: DoctorFindingCode[]
  /** Codes checked only in part for want of a plan (see `DOCTOR_PLAN_PARTLY`). */
  checkedInPart: DoctorFindingCode[]
}

const KNOWN = ['plan', 'containers', 'ignore'] as const

/** A finding code from its full name or its short one (`PDB_MISSING`); throws `UnknownOptionError` naming the closest. */
export function findingCode(where: string, code: unknown): DoctorFindingCode {
  if (typeof code !== 'string')
    throw new InvalidOptionError(where, `expected a finding code; got ${describeValue(code)}`)
  const full = code.startsWith('LAMEDUCK_DOCTOR_') ? code : `LAMEDUCK_DOCTOR_${code}`
  if ((DOCTOR_FINDING_CODES as readonly string[]).includes(full.toUpperCase()))
    return full.toUpperCase() as DoctorFindingCode
  throw new UnknownOptionError(where, code, closest(full, DOCTOR_FINDING_CODES), DOCTOR_FINDING_CODES)
}

/**
 * Checks Kubernetes manifests (every document of every source: Deployments, StatefulSets, DaemonSets and Pods
 * against the plan, PodDisruptionBudgets and HorizontalPodAutoscalers as context) offline. Throws
 * `DoctorError` for input it cannot check (invalid YAML, an object Kubernetes would refuse where a check
 * reads it, no workload at all or none with the named containers), core's option errors for wrong options.
 */
export function checkManifests(sources: readonly ManifestSource[], options: DoctorOptions = {}): DoctorResult {
  checkOptions('checkManifests', options, KNOWN)
  if (!Array.isArray(sources))
    throw new InvalidOptionError(
      'sources of checkManifests',
      `expected an array of { file, text }; got ${describeValue(sources)}`,
    )
  const plan =
    options.plan === undefined ? undefined : parseDoctorPlan(options.plan, 'the plan option of checkManifests')
  const ignore = new Set((options.ignore ?? []).map((code) => findingCode('ignore of checkManifests', code)))
  const containers = options.containers
  if (
    containers !== undefined &&
    (!Array.isArray(containers) || containers.some((c) => typeof c !== 'string' || c === ''))
  )
    throw new InvalidOptionError(
      'containers of checkManifests',
      `expected an array of container names; got ${describeValue(containers)}`,
    )

  const objects = parseManifests(sources)
  const { findings, workloads, checked } = checkObjects(objects, { plan, containers })
  if (workloads.length === 0)
    throw new DoctorError(
      'LAMEDUCK_ERR_DOCTOR_NO_WORKLOADS',
      `no Deployment, StatefulSet, DaemonSet or Pod in ${describeSources(sources)}${objects.length ? ` (found ${[...new Set(objects.map((o) => o.kind))].join(', ')})` : ' (it is empty)'}`,
    )
  if (checked.length === 0 && containers !== undefined)
    throw new DoctorError(
      'LAMEDUCK_ERR_DOCTOR_NO_WORKLOADS',
      `no workload has a container named ${containers.join(' or ')}; the containers are ${containerNames(workloads).join(', ') || 'none'}`,
    )
  const kept = findings
    .filter((f) => !ignore.has(f.code))
    .sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1))
  return {
    passed: kept.length === 0,
    findings: kept,
    checked: checked.map(objectName),
    notChecked: DOCTOR_FINDING_CODES.filter((c) => ignore.has(c) || (!plan && DOCTOR_PLAN_ONLY.includes(c))),
    checkedInPart: plan ? [] : DOCTOR_PLAN_PARTLY.filter((c) => !ignore.has(c)),
  }
}

function describeSources(sources: readonly ManifestSource[]): string {
  const files = sources.map((s) => s.file)
  return files.length <= 3
    ? files.join(', ') || 'the input'
    : `${files.slice(0, 3).join(', ')} and ${files.length - 3} more`
}

function containerNames(workloads: ReturnType<typeof checkObjects>['workloads']): string[] {
  const names = new Set<string>()
  for (const w of workloads) {
    const spec = (
      w.kind === 'Pod' ? w.value.spec : (w.value.spec as { template?: { spec?: unknown } } | undefined)?.template?.spec
    ) as { containers?: { name?: unknown }[] } | undefined
    for (const c of spec?.containers ?? []) if (typeof c?.name === 'string') names.add(c.name)
  }
  return [...names]
}
