// The kustomize layout of k8s/: every overlay renders (kubectl kustomize), every object it renders
// is valid against the Kubernetes OpenAPI schema (and the Prometheus Operator's CRDs), and what
// docs/kubernetes.md promises holds: Pod Security "restricted", no CPU limit, spread over nodes and
// zones, a disruption budget, the NetworkPolicy's ports, a dev overlay without authentication and
// a prod overlay with authentication and TLS; the rules and the dashboard exist once.
import { readFileSync } from 'node:fs';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { canRender, one, overlays, render, type K8sObject } from '../helpers/kustomize.js';

const models: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'networking.k8s.io/v1': networking,
  'policy/v1': policy,
  'monitoring.coreos.com/v1': monitoring,
};
type Model = new (data: K8sObject) => { validate(): void };

const statefulSet = (objects: K8sObject[]) => one(objects, 'StatefulSet', 'chorus');
const podSpec = (objects: K8sObject[]) => statefulSet(objects).spec.template.spec;
const env = (objects: K8sObject[]) => new Map((podSpec(objects).containers[0].env as Array<{ name: string; value?: string }>).map((v) => [v.name, v]));
const podLabels = { 'app.kubernetes.io/name': 'chorus' };
/** The names of the Secrets the pod reads, in env and in volumes, sorted. */
function secretsRead(objects: K8sObject[]): string[] {
  const pod = podSpec(objects);
  const fromEnv = (pod.containers[0].env as Array<{ valueFrom?: { secretKeyRef?: { name: string } } }>).map((v) => v.valueFrom?.secretKeyRef?.name);
  const fromVolumes = ((pod.volumes ?? []) as Array<{ secret?: { secretName: string } }>).map((v) => v.secret?.secretName);
  return [...new Set([...fromEnv, ...fromVolumes].filter((n) => n !== undefined))].sort();
}

describe.skipIf(!canRender).each(overlays)('overlay %s', (overlay) => {
  const objects = () => render(overlay);

  it('renders, and every object is valid against its schema', () => {
    expect(objects().length).toBeGreaterThan(3);
    const invalid: string[] = [];
    for (const object of objects()) {
      const model = models[object.apiVersion]?.[object.kind] as Model | undefined;
      const name = `${object.kind} ${object.metadata.name}`;
      if (model === undefined) invalid.push(`${name}: no schema for ${object.apiVersion}`);
      else {
        try {
          new model(object).validate();
        } catch (err) {
          invalid.push(`${name}: ${(err as Error).message}`);
        }
      }
    }
    expect(invalid).toEqual([]);
  });

  it('meets Pod Security "restricted", read-only root, as the image user', () => {
    const pod = podSpec(objects());
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostPID ?? false).toBe(false);
    expect(pod.hostIPC ?? false).toBe(false);
    const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
    for (const volume of pod.volumes ?? []) expect(Object.keys(volume).filter((k) => k !== 'name').every((k) => allowedVolumes.includes(k)), volume.name).toBe(true);
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
      expect(c.securityContext, c.name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.securityContext.privileged ?? false).toBe(false);
      expect(c.securityContext.capabilities.add ?? []).toEqual([]);
      expect(c.securityContext.runAsUser ?? pod.securityContext.runAsUser).not.toBe(0);
      expect(c.securityContext.seccompProfile?.type ?? pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
      for (const p of c.ports ?? []) expect(p.hostPort, p.name).toBeUndefined();
    }
  });

  it('requests CPU and memory, limits memory, and does not limit CPU', () => {
    for (const c of podSpec(objects()).containers) {
      expect(c.resources.requests.cpu, c.name).toBeDefined();
      expect(c.resources.requests.memory, c.name).toBeDefined();
      expect(c.resources.limits.memory, c.name).toBeDefined();
      expect(c.resources.limits.cpu, `${c.name}: a CPU limit throttles the event loop (k8s/base/statefulset.yaml)`).toBeUndefined();
    }
    expect(readFileSync('k8s/base/statefulset.yaml', 'utf8')).toMatch(/no CPU limit[^]*CFS throttling/);
  });

  it('spreads brokers over nodes, and over zones when it can', () => {
    const spread = podSpec(objects()).topologySpreadConstraints as Array<Record<string, unknown>>;
    expect(spread).toContainEqual({ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: podLabels } });
    expect(spread).toContainEqual({ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: podLabels } });
    expect(statefulSet(objects()).spec.template.metadata.labels).toMatchObject(podLabels);
  });

  it('lets one broker at a time go on voluntary disruptions', () => {
    const pdb = one(objects(), 'PodDisruptionBudget', 'chorus');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: podLabels } });
  });

  it('keeps what discovery and draining need', () => {
    const set = statefulSet(objects());
    expect(set.spec.podManagementPolicy).toBe('Parallel');
    expect(set.spec.serviceName).toBe('chorus-mesh');
    expect(one(objects(), 'Service', 'chorus-mesh').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(set.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
  });
});

describe.skipIf(!canRender)('overlays', () => {
  it('dev: one anonymous broker, no TLS, no secrets to create', () => {
    const objects = render('dev');
    expect(statefulSet(objects).spec.replicas).toBe(1);
    const vars = env(objects);
    expect(vars.has('CHORUS_AUTH')).toBe(false);
    expect([...vars.keys()].filter((n) => /JWT|API_KEY|TLS|ORIGINS/.test(n))).toEqual([]);
    // The only Secret it reads is the one it generates: nothing to create by hand.
    const generated = objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name);
    expect(secretsRead(objects)).toEqual(generated);
    expect(generated).toEqual([expect.stringMatching(/^chorus-cluster-/)]);
  });

  it('prod: three brokers or more, authentication on, TLS on client connections and broker links from mounted Secrets', () => {
    const objects = render('prod');
    expect(statefulSet(objects).spec.replicas).toBeGreaterThanOrEqual(3);
    const vars = env(objects);
    expect(vars.get('CHORUS_AUTH')?.value).toBe('jwt');
    expect(vars.get('CHORUS_JWT_SECRET')).toMatchObject({ valueFrom: { secretKeyRef: { name: 'chorus-auth', key: 'jwt-secret' } } });
    expect(vars.get('CHORUS_API_KEY')).toMatchObject({ valueFrom: { secretKeyRef: { name: 'chorus-auth', key: 'api-key' } } });
    // Every TLS file is in a Secret volume mounted read-only.
    const pod = podSpec(objects);
    const secretOf = new Map((pod.volumes as Array<{ name: string; secret?: { secretName: string } }>).map((v) => [v.name, v.secret?.secretName]));
    const mounts = pod.containers[0].volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>;
    const tlsVars = ['CHORUS_TLS_CERT', 'CHORUS_TLS_KEY', 'CHORUS_CLUSTER_TLS_CERT', 'CHORUS_CLUSTER_TLS_KEY', 'CHORUS_CLUSTER_TLS_CA'];
    const fromSecrets = tlsVars.map((name) => {
      const path = vars.get(name)?.value ?? '';
      const mount = mounts.find((m) => path.startsWith(`${m.mountPath}/`));
      expect(mount?.readOnly, `${name}=${path}`).toBe(true);
      return `${secretOf.get(mount!.name)}/${path.slice(mount!.mountPath.length + 1)}`;
    });
    expect(fromSecrets).toEqual(['chorus-tls/tls.crt', 'chorus-tls/tls.key', 'chorus-cluster-tls/tls.crt', 'chorus-cluster-tls/tls.key', 'chorus-cluster-tls/ca.crt']);
    // The Secrets to create are the ones docs/kubernetes.md tells how to create.
    const docs = readFileSync('docs/kubernetes.md', 'utf8');
    expect(secretsRead(objects)).toEqual(['chorus-auth', 'chorus-cluster', 'chorus-cluster-tls', 'chorus-tls']);
    for (const secret of secretsRead(objects)) expect(docs, secret).toMatch(new RegExp(`secret (generic|tls) ${secret} `));
  });

  it('prod: the monitoring, dashboards and network-policy components', () => {
    const kinds = render('prod').map((o) => o.kind);
    for (const kind of ['PodMonitor', 'PrometheusRule', 'ConfigMap', 'NetworkPolicy']) expect(kinds).toContain(kind);
  });
});

describe.skipIf(!canRender)('components (as prod renders them)', () => {
  it('the NetworkPolicy opens the client port to all, the cluster port to brokers, the internal port to monitoring', () => {
    const objects = render('prod');
    const policy = one(objects, 'NetworkPolicy', 'chorus');
    expect(policy.spec.podSelector).toEqual({ matchLabels: podLabels });
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    const byPort = new Map((policy.spec.ingress as Array<{ ports: Array<{ port: string }>; from?: unknown[] }>).map((rule) => [rule.ports.map((p) => p.port).join(), rule.from]));
    expect(byPort.get('client')).toBeUndefined();
    expect(byPort.get('cluster')).toEqual([{ podSelector: { matchLabels: podLabels } }]);
    expect(byPort.get('internal')).toEqual([{ namespaceSelector: {}, podSelector: { matchLabels: { 'chorus-monitoring': 'true' } } }]);
    // Every port the pod opens has its rule, and the label is the one the docs tell to set.
    expect([...byPort.keys()].sort()).toEqual(podSpec(objects).containers[0].ports.map((p: { name: string }) => p.name).sort());
    expect(readFileSync('docs/kubernetes.md', 'utf8')).toContain('chorus-monitoring: "true"');
  });

  it('the PodMonitor scrapes /metrics on the internal port', () => {
    const monitor = one(render('prod'), 'PodMonitor', 'chorus');
    expect(monitor.spec.selector).toEqual({ matchLabels: podLabels });
    expect(monitor.spec.podMetricsEndpoints).toEqual([expect.objectContaining({ port: 'internal', path: '/metrics' })]);
  });

  it('the PrometheusRule holds exactly the groups of dashboards/alerts.yaml (node scripts/k8s-sync.mjs)', () => {
    const alerts = parse(readFileSync('dashboards/alerts.yaml', 'utf8')) as { groups: unknown[] };
    expect(alerts.groups.length).toBeGreaterThan(0);
    expect(one(render('prod'), 'PrometheusRule', 'chorus').spec).toEqual({ groups: alerts.groups });
  });

  it('the dashboard ConfigMap holds dashboards/chorus.json as it is, labelled for the Grafana sidecar (node scripts/k8s-sync.mjs)', () => {
    const map = one(render('prod'), 'ConfigMap', 'chorus-dashboard');
    expect(map.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(map.data['chorus.json']).toBe(readFileSync('dashboards/chorus.json', 'utf8'));
  });
});
