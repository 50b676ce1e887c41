/**
 * Renders the kustomize overlays of k8s/ with `kubectl kustomize` (kustomize v4+, for
 * Components) and parses the objects. No cluster is needed. kubectl is $KUBECTL_PATH or the
 * one on PATH; without it the tests that render are skipped outside CI, and fail in CI.
 */
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

export const overlays = ['dev', 'prod'] as const;
export type Overlay = (typeof overlays)[number];

const kubectl = process.env['KUBECTL_PATH'] ?? 'kubectl';
const found = spawnSync(kubectl, ['version', '--client'], { encoding: 'utf8' }).status === 0;
export const canRender = found || process.env['CI'] !== undefined;
if (!found) console.warn(`kustomize tests ${canRender ? 'will fail' : 'skipped'}: no ${kubectl} (set KUBECTL_PATH; in CI they always run)`);

/** A rendered Kubernetes object; tests reach into it with their own casts. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [field: string]: any };

const cache = new Map<Overlay, K8sObject[]>();

/** The objects `kubectl kustomize k8s/overlays/<overlay>` prints; throws with kubectl's message. */
export function render(overlay: Overlay): K8sObject[] {
  const cached = cache.get(overlay);
  if (cached !== undefined) return cached;
  const out = spawnSync(kubectl, ['kustomize', `k8s/overlays/${overlay}`], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`kubectl kustomize k8s/overlays/${overlay} failed: ${out.error?.message ?? out.stderr}`);
  const objects = parseAllDocuments(out.stdout).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toJS() as K8sObject;
  });
  cache.set(overlay, objects);
  return objects;
}

/** The one object of that kind (and name, if given); fails if there is not exactly one. */
export function one(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const matching = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (matching.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${matching.length}`);
  return matching[0]!;
}

type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } };

/**
 * The environment of the StatefulSet `chorus`'s container as Kubernetes fills it in for one pod:
 * downward-API fields from `fields` (`metadata.name`, `metadata.namespace`), Secret keys from the
 * overlay's own Secrets or else from `outsideSecrets` (`secret-name/key`), and `$(VAR)` replaced
 * by a variable defined earlier in the list (an unknown one stays as written, as in Kubernetes).
 */
export function podEnvironment(objects: K8sObject[], fields: Record<string, string>, outsideSecrets: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of one(objects, 'StatefulSet', 'chorus').spec.template.spec.containers[0].env as EnvVar[]) {
    const ref = v.valueFrom?.secretKeyRef;
    const field = v.valueFrom?.fieldRef?.fieldPath;
    if (v.value !== undefined) env[v.name] = v.value.replace(/\$\((\w+)\)/g, (whole, name: string) => env[name] ?? whole);
    else if (field !== undefined) {
      const value = fields[field];
      if (value === undefined) throw new Error(`${v.name}: no value for the field ${field}`);
      env[v.name] = value;
    } else if (ref !== undefined) {
      const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name);
      const value = secret === undefined ? outsideSecrets[`${ref.name}/${ref.key}`] : Buffer.from(secret.data[ref.key], 'base64').toString();
      if (value === undefined) throw new Error(`${v.name}: no value for Secret ${ref.name} key ${ref.key}`);
      env[v.name] = value;
    }
  }
  return env;
}
