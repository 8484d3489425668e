import { randomInt } from 'node:crypto'

/**
 * The environment Kubernetes gives every container, whatever its pod spec says, as far as a service can tell:
 *
 * - `HOSTNAME`: the pod's name (the kubelet sets the container's hostname to it, and the runtime exports it).
 * - The `kubernetes` Service's link variables, present in every pod of every namespace (`enableServiceLinks`
 *   cannot turn these off): `KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT`,
 *   `KUBERNETES_SERVICE_PORT_HTTPS`, `KUBERNETES_PORT`, `KUBERNETES_PORT_443_TCP`, `…_PROTO`, `…_PORT`, `…_ADDR`.
 *   Libraries read `KUBERNETES_SERVICE_HOST` to know they run in a cluster — lameduck's core does, for its
 *   5 s default drain delay — so a simulator without it tests another configuration than the cluster runs.
 *
 * Deliberately absent, as in a pod whose spec does not declare them: `TERMINATION_GRACE_PERIOD_SECONDS`,
 * `POD_NAME`, `POD_IP`, `NODE_NAME` and every other downward-API variable (the manifest must set them, and
 * so must `--env`), and the link variables of the namespace's other Services.
 */
export function podEnvironment(podName: string): Record<string, string> {
  const ip = KUBERNETES_SERVICE_IP
  return {
    HOSTNAME: podName,
    KUBERNETES_SERVICE_HOST: ip,
    KUBERNETES_SERVICE_PORT: '443',
    KUBERNETES_SERVICE_PORT_HTTPS: '443',
    KUBERNETES_PORT: `tcp://${ip}:443`,
    KUBERNETES_PORT_443_TCP: `tcp://${ip}:443`,
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: '443',
    KUBERNETES_PORT_443_TCP_ADDR: ip,
  }
}

/** The `kubernetes` Service's ClusterIP with the default service CIDR (10.96.0.0/12) of kubeadm, kind, minikube. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1'

/** The names a Deployment's controller would give the two replicas: one ReplicaSet hash, a suffix each. */
export function podNames(deployment = 'lameduck-sim'): [string, string] {
  const hash = randomName(10)
  return [`${deployment}-${hash}-${randomName(5)}`, `${deployment}-${hash}-${randomName(5)}`]
}

// Kubernetes' own alphabet for generated names: no vowels (no words), no 0, 1, 3 (no look-alikes).
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

function randomName(length: number): string {
  let name = ''
  for (let i = 0; i < length; i++) name += ALPHABET[randomInt(ALPHABET.length)]
  return name
}
