// Keeps the deployment files true to the broker: every CHORUS_* variable the rendered Kubernetes
// overlays set is one the broker reads, with values it parses; the probes and the scrape path are
// routes it serves, on the ports it listens on; the image runs the CLI the build produces. (No
// cluster here: this is what can be checked offline. test/unit/kustomize.test.ts checks the rest.)
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { optionSpecs, parseConfig, type BrokerConfig } from '../../broker/main/config.js';
import { canRender, one, overlays, podEnvironment, render, type K8sObject, type Overlay } from '../helpers/kustomize.js';

const dockerfile = readFileSync('Dockerfile', 'utf8');

/** Values for Secrets the overlay does not carry (the operator creates them; docs/kubernetes.md). */
const outsideSecrets: Record<string, string> = {
  'chorus-cluster/secret': 'a-secret-from-the-secret-object',
  'chorus-auth/jwt-secret': 'a-jwt-secret-from-the-secret-object-of-32+',
  'chorus-auth/api-key': 'an-api-key-from-the-secret',
};

const container = (objects: K8sObject[]) => one(objects, 'StatefulSet', 'chorus').spec.template.spec.containers[0];

/** The environment of the broker in pod chorus-0 of namespace default, as Kubernetes would fill it in. */
const environment = (objects: K8sObject[]) => podEnvironment(objects, { 'metadata.name': 'chorus-0', 'metadata.namespace': 'default' }, outsideSecrets);

describe.skipIf(!canRender).each(overlays)('overlay %s', (overlay: Overlay) => {
  const objects = () => render(overlay);

  it('sets only variables the broker reads, with values it accepts', () => {
    const known = new Set(optionSpecs.map((o) => o.env));
    const env = environment(objects());
    const names = Object.keys(env);
    expect(names.length).toBeGreaterThan(5);
    // POD_* only feed $(…) in the others.
    for (const name of names) expect(known.has(name) || ['POD_NAME', 'POD_NAMESPACE'].includes(name), name).toBe(true);
    const config: BrokerConfig = parseConfig([], env);
    expect(config.name).toBe('chorus-0');
    expect(config.seedsDns).toBe('_cluster._tcp.chorus-mesh.default.svc.cluster.local');
    expect(config.clusterAdvertise).toBe('chorus-0.chorus-mesh.default.svc.cluster.local:7946');
    expect(config.internalPort).toBe(9090);
    if (overlay === 'prod') {
      expect(config.auth).toBe('jwt');
      expect(config.origins).toEqual(['https://app.example.com']);
    } else {
      expect(config.auth).toBe('none');
    }
  });

  it('listens on the ports the pod declares, and probes and scrapes routes the broker serves there', () => {
    const c = container(objects());
    const env = environment(objects());
    const ports = Object.fromEntries((c.ports as Array<{ name: string; containerPort: number }>).map((p) => [p.name, p.containerPort]));
    expect(ports).toEqual({ client: Number(env['CHORUS_PORT']), cluster: Number(env['CHORUS_CLUSTER_PORT']), internal: Number(env['CHORUS_INTERNAL_PORT']) });
    expect(ports).toEqual({ client: 8080, cluster: 7946, internal: 9090 });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'internal' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'internal' });
    const annotations = one(objects(), 'StatefulSet', 'chorus').spec.template.metadata.annotations;
    expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/metrics', 'prometheus.io/port': String(ports['internal']) });
    // Each Service targets a port the pod names.
    for (const service of objects().filter((o) => o.kind === 'Service')) {
      for (const p of service.spec.ports) expect(Object.keys(ports), `${service.metadata.name} → ${p.targetPort}`).toContain(p.targetPort);
    }
  });
});

describe('image', () => {
  it('is built on a supported Node LTS, as an unprivileged user, with production dependencies only', () => {
    const bases = [...dockerfile.matchAll(/^FROM node:(\d+)-slim/gm)].map((m) => Number(m[1]));
    expect(bases.length).toBe(2);
    // Even majors are LTS; 20 reached its end of life in April 2026.
    for (const major of bases) expect(major % 2 === 0 && major >= 22, `node:${major}`).toBe(true);
    // The node images' user `node` is uid/gid 1000: the StatefulSet's runAsUser/runAsGroup.
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('npm prune --omit=dev');
  });

  it('runs the CLI the build produces', () => {
    const entry = /ENTRYPOINT \["node", "([^"]+)"\]/.exec(dockerfile)?.[1];
    expect(entry).toBe('dist/broker/main/cli.js');
    expect(existsSync(entry!)).toBe(true);
  });
});
