// Proves the browser bundle served at /client.js works in real headless Chromium: a spawned broker, one page that subscribes with state and renders it, another that publishes a state and a patch, and the first page's DOM showing the loaded and then the merged state.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const cliPath = fileURLToPath(new URL('../../dist/broker/main/cli.js', import.meta.url));
const topic = 'room.browser';

const brokerListenTimeoutMs = 15_000;
const brokerExitTimeoutMs = 5_000;
const browserLaunchTimeoutMs = 30_000;
const pageWaitTimeoutMs = 10_000;
const suiteTimeoutMs = 60_000;

/** What the page script leaves on globalThis for the test to read. */
interface PageGlobals {
  /** 'connecting', 'ready', or 'error: …'. */
  chorusStatus: string;
  /** Every render of sub.state, in order: on subscribe, then one per message. */
  renders: { seq: number; kind: string; state: unknown }[];
  /** Publishes on the page's topic (publisher role only); resolves with the topic seq. */
  publish: (kind: string, data: unknown) => Promise<{ seq: number }>;
}

// One page, two roles. It is written into a document the broker itself served
// (see openTestPage), so `import('/client.js')` is a same-origin module load.
function testPageHtml(role: 'subscriber' | 'publisher'): string {
  return `<!doctype html>
<meta charset="utf-8">
<title>chorus browser test</title>
<body data-role="${role}" data-topic="${topic}">
<pre id="state" data-seq="-1"></pre>
<script type="module">
  globalThis.chorusStatus = 'connecting';
  globalThis.renders = [];
  const { role, topic } = document.body.dataset;
  const out = document.getElementById('state');
  try {
    const { connect } = await import('/client.js');
    const client = await connect('ws://' + location.host + '/ws');
    if (role === 'publisher') {
      globalThis.publish = (kind, data) => client.publish(topic, data, { kind });
    } else {
      let sub;
      const render = (kind) => {
        out.textContent = JSON.stringify(sub.state);
        out.dataset.seq = String(sub.seq);
        globalThis.renders.push({ seq: sub.seq, kind, state: sub.state });
      };
      // A message could in principle be handled before subscribe() returns;
      // the render right after it shows sub.state, which already holds it.
      sub = await client.subscribe(topic, (msg) => { if (sub !== undefined) render(msg.kind); }, { state: true });
      render('subscribed');
    }
    globalThis.chorusStatus = 'ready';
  } catch (err) {
    globalThis.chorusStatus = 'error: ' + (err && err.stack ? err.stack : String(err));
  }
</script>
`;
}

interface RunningBroker {
  child: ChildProcess;
  http: string;
}

/** Spawns a broker on an OS-chosen loopback port; resolves once it prints its `listening` line. */
function startBroker(onSpawn: (child: ChildProcess) => void): Promise<RunningBroker> {
  const child = spawn(process.execPath, [cliPath, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onSpawn(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise<RunningBroker>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`broker printed no listening line within ${brokerListenTimeoutMs} ms; stderr: ${stderr}`)),
      brokerListenTimeoutMs,
    );
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`broker exited before listening (code ${code}, signal ${signal}); stderr: ${stderr}`));
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let event: { event?: string; http?: string; port?: number };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return;
      }
      if (event.event !== 'listening' || typeof event.port !== 'number') return;
      clearTimeout(timer);
      resolve({ child, http: event.http ?? `http://127.0.0.1:${event.port}` });
    });
  });
}

/** Ends the broker by its PID: SIGTERM, then SIGKILL if it has not exited within the bound. */
async function stopBroker(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), brokerExitTimeoutMs);
  });
  const late = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late && child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
}

/**
 * Opens the test page in a fresh context and waits until its script has connected (and subscribed).
 * Why goto + setContent and not page.route: Chromium's Local Network Access
 * checks refuse a WebSocket to 127.0.0.1 from a document Playwright fulfilled
 * (it has no address, so it counts as public); a document the broker really
 * served is loopback, and setContent keeps its URL, origin and address space.
 */
async function openTestPage(browser: Browser, http: string, role: 'subscriber' | 'publisher', errors: string[]): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(`${role} pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // The 404 for /favicon.ico is the only expected failed load.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(`${role} console: ${msg.text()}`);
  });
  await page.goto(`${http}/livez`, { timeout: pageWaitTimeoutMs });
  await page.setContent(testPageHtml(role), { timeout: pageWaitTimeoutMs });
  await page.waitForFunction(
    () => {
      const status = (globalThis as unknown as Partial<PageGlobals>).chorusStatus;
      return status === 'ready' || (status?.startsWith('error') ?? false);
    },
    undefined,
    { timeout: pageWaitTimeoutMs },
  );
  const status = await page.evaluate(() => (globalThis as unknown as PageGlobals).chorusStatus);
  expect(status, `${role} page failed to start`).toBe('ready');
  return page;
}

const canRun = existsSync(chromiumPath) || process.env.CI !== undefined;
if (!canRun) console.warn(`browser tests skipped: no Chromium at ${chromiumPath} (set CHROMIUM_PATH; in CI they always run)`);

describe.skipIf(!canRun)('browser client bundle in headless Chromium', { timeout: suiteTimeoutMs }, () => {
  let brokerChild: ChildProcess | undefined;
  let browser: Browser | undefined;
  let http = '';
  // If the test process dies before afterAll, still end the broker (by PID).
  const killOnExit = (): void => {
    if (brokerChild?.pid !== undefined && brokerChild.exitCode === null) process.kill(brokerChild.pid, 'SIGKILL');
  };

  beforeAll(async () => {
    expect(existsSync(cliPath), `${cliPath} is missing: run npm run build first`).toBe(true);
    process.once('exit', killOnExit);
    const broker = await startBroker((child) => {
      brokerChild = child;
    });
    http = broker.http;
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: browserLaunchTimeoutMs });
  }, suiteTimeoutMs);

  afterAll(async () => {
    process.off('exit', killOnExit);
    try {
      await browser?.close();
    } finally {
      if (brokerChild !== undefined) await stopBroker(brokerChild);
    }
  }, suiteTimeoutMs);

  it('serves a bundle with no Node-only import', async () => {
    const response = await fetch(`${http}/client.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/javascript/);
    const bundle = await response.text();
    expect(bundle).toMatch(/\bconnect\b/);
    expect(bundle).not.toMatch(/require\(\s*["'`]ws["'`]\s*\)/);
    expect(bundle).not.toMatch(/from\s*["'`]ws["'`]/);
    expect(bundle).not.toMatch(/import\s*\(?\s*["'`]ws["'`]/);
    expect(bundle).not.toMatch(/["'`]node:/);
  });

  it('renders the state loaded on subscribe, then the state merged from another page', async () => {
    const errors: string[] = [];
    const initial = { title: 'from node', count: 0, tags: ['x'] };
    const posted = await fetch(`${http}/api/v1/topics/${topic}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: initial, kind: 'state' }),
    });
    expect(posted.status).toBe(200);
    const { seq: initialSeq } = (await posted.json()) as { seq: number };

    const subscriber = await openTestPage(browser!, http, 'subscriber', errors);
    const stateText = subscriber.locator('#state');
    expect(JSON.parse((await stateText.textContent()) ?? 'null')).toEqual(initial);
    expect(await stateText.getAttribute('data-seq')).toBe(String(initialSeq));

    const publisher = await openTestPage(browser!, http, 'publisher', errors);
    const replaced = { title: 'from page B', count: 1, tags: ['a', 'b'], owner: { name: 'b' } };
    const patch = { count: 2, tags: null, owner: { role: 'editor' } };
    const merged = { title: 'from page B', count: 2, owner: { name: 'b', role: 'editor' } };
    const stateSeq = await publisher.evaluate(
      async ([data]) => (await (globalThis as unknown as PageGlobals).publish('state', data)).seq,
      [replaced] as const,
    );
    const patchSeq = await publisher.evaluate(
      async ([data]) => (await (globalThis as unknown as PageGlobals).publish('patch', data)).seq,
      [patch] as const,
    );
    expect(stateSeq).toBe(initialSeq + 1);
    expect(patchSeq).toBe(stateSeq + 1);

    await subscriber.locator(`#state[data-seq="${patchSeq}"]`).waitFor({ state: 'attached', timeout: pageWaitTimeoutMs });
    expect(JSON.parse((await stateText.textContent()) ?? 'null')).toEqual(merged);

    const renders = await subscriber.evaluate(() => (globalThis as unknown as PageGlobals).renders);
    expect(renders).toEqual([
      { seq: initialSeq, kind: 'subscribed', state: initial },
      { seq: stateSeq, kind: 'state', state: replaced },
      { seq: patchSeq, kind: 'patch', state: merged },
    ]);
    expect(errors).toEqual([]);
  });
});
