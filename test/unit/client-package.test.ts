// The client as its own package (client/, the npm workspace @chorus/client): `npm pack` holds only
// the built client (ES modules, declarations, README, package.json — no .ts sources, no source maps,
// nothing of the broker); its package.json depends on nothing of the broker and on exactly the
// packages its built code imports; the root package re-exports it. Then the packed tarball is
// installed alone into a scratch project (from the npm cache: --prefer-offline) and, from there,
// connects to a real broker process and gets back what it published; and bundled for the browser
// with esbuild it pulls in neither `ws` nor a `node:` module.
//
// Needs the build (`npm test` runs it first). The install is bounded (2 min): with msgpackr and ws
// in the npm cache, as after the root's `npm ci`, it takes a few seconds and no network; msgpackr's
// optional native add-on is overridden by the repository's empty stand-in, as the root package does,
// so nothing is fetched or compiled for it.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const clientDir = join(root, 'client');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const clientPkg = JSON.parse(readFileSync(join(clientDir, 'package.json'), 'utf8'));
const brokerPackages = /^(fastify|prom-client|jose|pino|@fastify\/.*|pino-.*)$/;

/** The environment for a nested npm: without what an outer `npm test` or `npm run` would pass down. */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_config_(dry_run|workspaces?|include_workspace_root|global|prefix|omit|offline|json|ignore_scripts)$/i.test(key)) delete env[key];
  }
  return env;
}

async function npm(args: string[], cwd: string, timeoutMs: number): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, env: npmEnv(), timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout;
}

/** client/'s TypeScript sources, relative to client/ (its build output and dependencies left out). */
function clientSources(dir = clientDir): string[] {
  let out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (dir === clientDir && (entry === 'dist' || entry === 'node_modules')) continue;
      out = out.concat(clientSources(path));
    } else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(relative(clientDir, path));
  }
  return out;
}

/** The bare specifiers (package names) an ES module imports, statically or dynamically with a literal. */
function bareImports(js: string): string[] {
  const specs = [...js.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g), ...js.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return specs.filter((s) => !s.startsWith('.')).map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

describe('the @chorus/client package', () => {
  beforeAll(() => {
    expect(existsSync(join(clientDir, 'dist/index.js')), 'client/dist is missing: run npm run build first').toBe(true);
  });

  it('packs only the built client: JS, declarations, README and package.json', async () => {
    const [packed] = JSON.parse(await npm(['pack', '--dry-run', '--json', '--ignore-scripts'], clientDir, 60_000)) as Array<{ name: string; version: string; files: Array<{ path: string }> }>;
    expect(packed!.name).toBe('@chorus/client');
    const files = packed!.files.map((f) => f.path).sort();
    expect(files.filter((f) => !/^dist\/.+\.(js|d\.ts)$/.test(f) && f !== 'README.md' && f !== 'package.json')).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || /broker|lightweight|tsconfig/.test(f))).toEqual([]);
    // Every source file is there, built, with its declarations; nothing else is.
    const expected = clientSources().flatMap((src) => [`dist/${src.replace(/\.ts$/, '.js')}`, `dist/${src.replace(/\.ts$/, '.d.ts')}`]);
    expect(files).toEqual([...expected, 'README.md', 'package.json'].sort());
    // No source map comment pointing at a map or a source the package does not hold.
    for (const f of files.filter((p) => p.endsWith('.js'))) {
      expect(readFileSync(join(clientDir, f), 'utf8'), f).not.toMatch(/sourceMappingURL/);
    }
    for (const target of Object.values(clientPkg.exports as Record<string, string | Record<string, string>>)) {
      for (const path of typeof target === 'string' ? [target] : Object.values(target)) expect(files).toContain(path.replace(/^\.\//, ''));
    }
  });

  it('declares what its code imports and nothing of the broker; moves in step with the root package', () => {
    const deps = Object.keys(clientPkg.dependencies ?? {}).sort();
    const all = [...deps, ...Object.keys(clientPkg.peerDependencies ?? {}), ...Object.keys(clientPkg.optionalDependencies ?? {})];
    expect(all.filter((d) => brokerPackages.test(d))).toEqual([]);
    const builtJs = clientSources().map((src) => readFileSync(join(clientDir, 'dist', src.replace(/\.ts$/, '.js')), 'utf8'));
    expect([...new Set(builtJs.flatMap(bareImports))].sort()).toEqual(deps);
    expect(deps).toEqual(['msgpackr', 'ws']);
    // The same ranges as the root, so one copy of each serves both in the repository.
    for (const d of deps) expect(clientPkg.dependencies[d], d).toBe(rootPkg.dependencies[d]);
    expect(clientPkg).toMatchObject({ name: '@chorus/client', version: rootPkg.version, type: 'module', sideEffects: false, engines: rootPkg.engines });
    expect(clientPkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(clientPkg.exports['./protocol']).toEqual({ types: './dist/protocol/index.d.ts', default: './dist/protocol/index.js' });
    // The root depends on this exact version and re-exports it as chorus/client.
    expect(rootPkg.workspaces).toEqual(['client']);
    expect(rootPkg.dependencies['@chorus/client']).toBe(clientPkg.version);
    expect(readFileSync(join(root, rootPkg.exports['./client'].default), 'utf8')).toContain("export * from '@chorus/client';");
    expect(readFileSync(join(root, rootPkg.exports['./client/protocol'].default), 'utf8')).toContain("export * from '@chorus/client/protocol';");
  });

  describe('installed alone from its tarball', () => {
    let scratch = '';
    let broker: BrokerProcess | undefined;

    beforeAll(async () => {
      scratch = realpathSync(mkdtempSync(join(tmpdir(), 'chorus-client-pkg-')));
      const [packed] = JSON.parse(await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], clientDir, 60_000)) as Array<{ filename: string }>;
      const app = join(scratch, 'app');
      mkdirSync(app);
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({ name: 'scratch-app', private: true, type: 'module', overrides: { 'msgpackr-extract': `file:${join(root, 'packages/no-native-msgpackr')}` } }),
      );
      await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(scratch, packed!.filename)], app, 120_000);
      broker = await startBrokerProcess();
    }, 180_000);

    afterAll(async () => {
      await broker?.stop();
      if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
    });

    it('brings no broker dependency along', () => {
      const installed = readdirSync(join(scratch, 'app/node_modules')).flatMap((d) => (d.startsWith('@') ? readdirSync(join(scratch, 'app/node_modules', d)).map((s) => `${d}/${s}`) : [d]));
      expect(installed.filter((d) => brokerPackages.test(d))).toEqual([]);
      expect(installed).toEqual(expect.arrayContaining(['@chorus/client', 'msgpackr', 'ws']));
    });

    it('connects from Node to a real broker, and publishes and receives a message', async () => {
      const script = `
        const url = process.argv[1];
        const resolved = import.meta.resolve('@chorus/client');
        const { connect, protocolVersion } = await import('@chorus/client');
        const protocol = await import('@chorus/client/protocol');
        const client = await connect(url, { reconnect: { enabled: false } });
        let received;
        const got = new Promise((res) => (received = res));
        const sub = await client.subscribe('pkg.alone', (msg) => received(msg));
        const result = await client.publish('pkg.alone', { hello: 'alone' });
        const timer = setTimeout(() => { console.error('no message within 10 s'); process.exit(3); }, 10000);
        const msg = await got;
        clearTimeout(timer);
        await sub.unsubscribe();
        await client.close();
        console.log(JSON.stringify({ resolved, protocolVersion, matches: protocol.matchTopic('pkg.*', 'pkg.alone'), global: typeof globalThis.WebSocket, result, msg: { topic: msg.topic, seq: msg.seq, data: msg.data } }));
      `;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, broker!.url], { cwd: join(scratch, 'app'), timeout: 20_000 });
      const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
      // Resolved from the scratch project, not from the repository.
      expect(out.resolved).toBe(pathToFileURL(join(scratch, 'app/node_modules/@chorus/client/dist/index.js')).href);
      expect(out.protocolVersion).toBe(2);
      expect(out.matches).toBe(true);
      expect(out.result).toEqual({ seq: 1 });
      expect(out.msg).toEqual({ topic: 'pkg.alone', seq: 1, data: { hello: 'alone' } });
      // On Node 20 there is no global WebSocket: the message came through the `ws` dependency.
      if (Number(process.versions.node.split('.')[0]) < 22) expect(out.global).toBe('undefined');
    }, 30_000);

    it('type-checks in a consumer with neither DOM nor Node types (strict, skipLibCheck off)', async () => {
      const app = join(scratch, 'app');
      writeFileSync(
        join(app, 'use.ts'),
        [
          "import { connect, createClient, ChorusError, type Client, type Message } from '@chorus/client';",
          "import { protocolVersion, matchTopic, ErrorCode } from '@chorus/client/protocol';",
          "export const client: Promise<Client> = connect(['ws://localhost:8080/ws'], { token: () => 't' });",
          'export const handler = (m: Message): unknown => m.data;',
          'export const values = [createClient, ChorusError, protocolVersion, matchTopic, ErrorCode];',
        ].join('\n'),
      );
      const options = { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022'], types: [], strict: true, noEmit: true, skipLibCheck: false };
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['use.ts'] }));
      await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(app, 'tsconfig.json')], { cwd: app, timeout: 60_000 });
    }, 60_000);

    it('bundles for the browser without ws or any node: module', async () => {
      const { build } = await import('esbuild');
      const result = await build({
        stdin: { contents: "import { connect } from '@chorus/client'; export { connect };", resolveDir: join(scratch, 'app'), loader: 'js' },
        bundle: true,
        format: 'esm',
        platform: 'browser',
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.some((p) => p.includes('node_modules/@chorus/client/dist/'))).toBe(true);
      expect(inputs.filter((p) => /(^|\/)node_modules\/ws\/|^node:/.test(p))).toEqual([]);
    });
  });
});
