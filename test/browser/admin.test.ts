// The admin page (admin/, served at `/`) in headless Chromium. Over a real three-broker mesh: the
// page served by one broker shows every broker, the lightweight-group table and the busiest topic
// from `$sys`; a topic lookup shows state, history and presence, and markup in them stays text; a
// client is disconnected from the page; then another broker is killed with -9 and the page shows
// it gone (within 20 s). On one broker with an API key: the page asks for the key, refuses a wrong
// one, keeps the right one in the tab across a reload, and every page answer carries the CSP. The
// steps of each part share one mesh and one page, in order: after a failed step the rest are skipped.
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../client/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { chromiumAvailable } from '../helpers/chromium.js';
import { MeshHarness } from '../helpers/mesh.js';
import { Condition } from '../helpers/wait.js';

const { path: chromiumPath, canRun } = chromiumAvailable('admin browser test');

const root = resolve(import.meta.dirname, '../..');
const artifacts = resolve(root, 'test-artifacts/admin');
const waitMs = 20_000;
const hostile = '<img src=x onerror=window.pwned=1>';

/** What the page's hook (window.chorusAdmin in admin/main.js) gives. */
declare const chorusAdmin: { status(): string; model(): { members: Array<{ id: string }> } | null };
declare const window: { pwned?: number };

/** A page with its errors collected (console errors and uncaught exceptions, CSP reports included). */
async function openPage(browser: Browser, url: string, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  await page.goto(url, { timeout: waitMs });
  return page;
}

/** Waits for a condition in the page; on failure says what the page shows. */
async function until<T>(page: Page, check: (arg: T) => boolean, arg: T, what: string, timeout = waitMs): Promise<void> {
  try {
    await page.waitForFunction(check as (arg: unknown) => boolean, arg, { timeout, polling: 100 });
  } catch (err) {
    const shown = await page.evaluate(() => ({ status: document.getElementById('status')?.textContent, members: [...document.querySelectorAll('#members tr')].map((r) => r.getAttribute('data-member')) })).catch(() => 'page gone');
    throw new Error(`${what}: ${(err as Error).message.split('\n')[0]}; the page shows ${JSON.stringify(shown)}`);
  }
}

const launch = (): Promise<Browser> => chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'], timeout: waitMs });

describe.skipIf(!canRun)('the admin page over a three-broker mesh', { timeout: 60_000 }, () => {
  const mesh = new MeshHarness();
  let brokers: BrokerProcess[] = [];
  let ids: string[] = [];
  let browser: Browser | undefined;
  let page: Page;
  let publisher: Timer | undefined;
  let guest: Client;
  const errors: string[] = [];
  let broken = false;
  type Timer = ReturnType<typeof setInterval>;

  beforeAll(async () => {
    expect(existsSync(resolve(root, 'dist/broker/main/cli.js')), 'dist/ is missing: run npm run build first').toBe(true);
    mkdirSync(artifacts, { recursive: true });
    brokers = await mesh.start(3);
    ids = await Promise.all([0, 1, 2].map((i) => mesh.memberOf(i)));
    browser = await launch();
  }, 60_000);

  afterEach((context) => {
    if (context.task.result?.state === 'fail') broken = true;
  });

  afterAll(async () => {
    clearInterval(publisher);
    try {
      await browser?.close();
    } finally {
      await mesh.finish('admin page');
    }
  }, 60_000);

  const step = (name: string, fn: () => Promise<void>) => it(name, async (context) => {
    if (broken) context.skip();
    await fn();
  });

  step('shows every broker, the group table and the busiest topic, live over $sys', async () => {
    // Traffic on one topic at broker 0, so the busiest topics have something to show.
    const hot = await mesh.client(brokers[0]!.url);
    publisher = setInterval(() => void hot.publish('room.hot', { n: Date.now() }).catch(() => undefined), 50);
    page = await openPage(browser!, `${brokers[1]!.httpUrl}/`, errors);
    await until(page, () => chorusAdmin.status() === 'live', undefined, 'the page to go live');
    await until(page, (all) => all.every((id) => document.querySelector(`#members tr[data-member="${id}"]`) !== null) && document.querySelectorAll('#members tr[data-member]').length === 3, ids, 'all three brokers');
    await until(page, () => document.querySelectorAll('#groups tr[data-lwg]').length === 32, undefined, 'the 32 groups');
    await until(page, () => document.querySelector('#top tr[data-topic="room.hot"]') !== null, undefined, 'room.hot among the busiest topics');
    await until(page, (self) => document.querySelector(`#members tr[data-member="${self}"] .role.self`) !== null, ids[1]!, 'this broker marked');
    const groups = await page.$$eval('#groups tr[data-lwg]', (rows) => rows.map((r) => r.querySelectorAll('td')[1]!.querySelectorAll('.broker').length));
    expect(groups.every((owners) => owners === 2)).toBe(true);
    // One broker in bold per group: the one sequencing its stream (its first owner, nobody publishing).
    const sequencers = await page.$$eval('#groups tr[data-lwg]', (rows) => rows.map((r) => r.querySelectorAll('td')[1]!.querySelectorAll('.broker.sequencer').length));
    expect(sequencers.every((n) => n === 1)).toBe(true);
    const coordinator = await page.$$eval('#members tr[data-member]', (rows) => rows.filter((r) => r.textContent!.includes('coordinator')).length);
    expect(coordinator).toBe(1);
    await page.screenshot({ path: `${artifacts}/1-mesh.png`, fullPage: true });
  });

  step('looks a topic up: state, history and presence, with markup shown as text', async () => {
    guest = await mesh.client(brokers[1]!.url, { clientId: 'guest-1', reconnect: { enabled: false } });
    await guest.subscribe('room.lookup', () => {}, { presence: { info: { name: hostile } } });
    await guest.publish('room.lookup', { html: hostile }, { kind: 'state' });
    await guest.publish('room.lookup', { line: 'hello' });
    await page.fill('#topic-input', 'room.lookup');
    await page.click('#topic-form button');
    await until(page, () => document.querySelector('#lookup tr[data-session] [data-disconnect="guest-1"]') !== null, undefined, 'the guest present');
    expect(await page.textContent('#lookup pre[data-part="state"]')).toContain(hostile);
    expect(await page.$$eval('#lookup table[data-part="history"] tbody tr', (rows) => rows.length)).toBe(2);
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();
    expect(await page.$$eval('#lookup img', (imgs) => imgs.length)).toBe(0);
  });

  step('disconnects a client from the page', async () => {
    const closed = new Condition();
    let code = 0;
    guest.on('closed', (e) => {
      code = e.code;
      closed.notify();
    });
    await page.click('#lookup [data-disconnect="guest-1"]');
    expect(await page.inputValue('#dc-client')).toBe('guest-1');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#dc-form button[type="submit"]');
    await until(page, () => document.querySelector('#dc-result .ok') !== null, undefined, 'the disconnect confirmed');
    await closed.wait(() => code !== 0, 5000, 'the guest closed');
    expect(code).toBe(4506);
  });

  step('shows a broker killed with -9 gone within 20 s', async () => {
    await mesh.kill(0);
    const started = Date.now();
    await until(page, (gone) => document.querySelector(`#members tr[data-member="${gone}"]`) === null && document.querySelectorAll('#members tr[data-member]').length === 2, ids[0]!, 'the killed broker gone', 20_000);
    console.info(`the admin page dropped the killed broker after ${Date.now() - started} ms`);
    await until(page, (gone) => [...document.querySelectorAll('#views .left')].some((e) => e.textContent!.includes(gone)), ids[0]!, 'the view change listed');
    await page.screenshot({ path: `${artifacts}/2-after-kill.png`, fullPage: true });
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!canRun)('the admin page of a broker with an API key', { timeout: 60_000 }, () => {
  const apiKey = 'an-api-key-for-the-admin-page';
  let broker: BrokerProcess | undefined;
  let browser: Browser | undefined;
  const errors: string[] = [];

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    broker = await startBrokerProcess(['--api-key', apiKey]);
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await broker?.stop();
    }
  });

  it('serves its files under a strict CSP, and no data without the key', async () => {
    for (const path of ['/', '/admin/main.js', '/admin/admin.css']) {
      const response = await fetch(`${broker!.httpUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-security-policy'), path).toContain("script-src 'self'");
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    expect((await fetch(`${broker!.httpUrl}/admin/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${broker!.httpUrl}/api/v1/cluster`)).status).toBe(401);
  });

  it('asks for the key, refuses a wrong one, and keeps the right one in the tab across a reload', async () => {
    const page = await openPage(browser!, `${broker!.httpUrl}/`, errors);
    await until(page, () => chorusAdmin.status() === 'key', undefined, 'the key asked for');
    await page.fill('#key-input', 'not-the-key-at-all');
    await page.click('#key-form button');
    await until(page, () => chorusAdmin.status() === 'key' && document.getElementById('status')!.textContent!.includes('refused'), undefined, 'the wrong key refused');
    await page.fill('#key-input', apiKey);
    await page.click('#key-form button');
    await until(page, () => chorusAdmin.status() === 'live' && document.querySelectorAll('#members tr[data-member]').length === 1, undefined, 'live with its one broker');
    await page.screenshot({ path: `${artifacts}/3-single-broker.png`, fullPage: true });
    await page.reload();
    await until(page, () => chorusAdmin.status() === 'live' && document.querySelectorAll('#members tr[data-member]').length === 1, undefined, 'live again after a reload');
    // The only errors: the browser's own line for the refused probe (401).
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
  });
});
