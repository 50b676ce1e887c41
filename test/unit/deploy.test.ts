// Keeps the deployment files true to the broker: every CHORUS_* variable the Kubernetes manifest
// sets is one the broker reads, the probes and the scrape path are routes it serves, and the
// image runs the CLI the build produces. (No cluster here: this is what can be checked offline.)
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { optionSpecs, parseConfig } from '../../broker/main/config.js';

const manifest = readFileSync('k8s/chorus.yaml', 'utf8');
const dockerfile = readFileSync('Dockerfile', 'utf8');

describe('deployment files', () => {
  it('set only variables the broker reads, with values it accepts', () => {
    const known = new Set(optionSpecs.map((o) => o.env));
    const set = [...manifest.matchAll(/- name: (CHORUS_[A-Z_]+)\n\s+value(?:From)?: (.*)/g)].map((m) => [m[1]!, m[2]!] as const);
    expect(set.length).toBeGreaterThan(5);
    for (const [name] of set) expect(known.has(name), name).toBe(true);
    // The literal values, with the pod's fields filled in as Kubernetes would, must parse.
    const env: Record<string, string> = {
      CHORUS_CLUSTER_SECRET: 'a-secret-from-the-secret-object',
      CHORUS_JWT_SECRET: 'a-jwt-secret-from-the-secret-object-of-32+',
      CHORUS_API_KEY: 'an-api-key-from-the-secret',
    };
    for (const [name, value] of set) {
      if (value.startsWith('{')) continue;
      env[name] = value.replace(/^"|"$/g, '').replaceAll('$(POD_NAME)', 'chorus-0').replaceAll('$(POD_NAMESPACE)', 'default');
    }
    const config = parseConfig([], env);
    expect(config.name).toBe('chorus-0');
    expect(config.seedsDns).toBe('_cluster._tcp.chorus-mesh.default.svc.cluster.local');
    expect(config.clusterAdvertise).toBe('chorus-0.chorus-mesh.default.svc.cluster.local:7946');
    expect(config.auth).toBe('jwt');
    expect(config.internalPort).toBe(9090);
    expect(config.origins).toEqual(['https://app.example.com']);
  });

  it('build the image on a supported Node LTS, as an unprivileged user, with production dependencies only', () => {
    const bases = [...dockerfile.matchAll(/^FROM node:(\d+)-slim/gm)].map((m) => Number(m[1]));
    expect(bases.length).toBe(2);
    // Even majors are LTS; 20 reached its end of life in April 2026.
    for (const major of bases) expect(major % 2 === 0 && major >= 22, `node:${major}`).toBe(true);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('npm prune --omit=dev');
  });

  it('probe and scrape routes the broker serves, on its internal port', () => {
    expect(manifest).toContain('httpGet: { path: /readyz, port: internal }');
    expect(manifest).toContain('httpGet: { path: /livez, port: internal }');
    expect(manifest).toContain('prometheus.io/path: /metrics');
    expect(manifest).toContain('prometheus.io/port: "9090"');
    expect(manifest).toMatch(/name: internal, containerPort: 9090/);
    expect(manifest).toMatch(/containerPort: 8080/);
    expect(manifest).toMatch(/containerPort: 7946/);
  });

  it('build an image that runs the CLI the build produces', () => {
    const entry = /ENTRYPOINT \["node", "([^"]+)"\]/.exec(dockerfile)?.[1];
    expect(entry).toBe('dist/broker/main/cli.js');
    expect(existsSync(entry!)).toBe(true);
  });
});
