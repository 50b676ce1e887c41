// The game-room example (examples/game-room/) end to end: a real three-broker mesh, the referee as
// a child process, and players in headless Chromium on the page the brokers serve. Two players on
// different brokers join one room from the lobby (the brokers' `$rooms`, --rooms 'game.*'); moves,
// chat and presence (a third player comes and goes) cross the mesh; a room left empty leaves the
// lobby (--room-empty-ms) and the referee lets it go; the referee scores a coin reached with the
// arrow keys; then the broker of player A is killed with -9 and both pages carry on: A
// shows "reconnecting…" and resumes on another broker, scores and chat are intact, and moves still
// propagate. The steps share one mesh and one set of pages, in order: after a failed step the rest
// are skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { chromiumAvailable } from '../helpers/chromium.js';
import { MeshHarness } from '../helpers/mesh.js';
import { pollUntil } from '../helpers/wait.js';

const { path: chromiumPath, canRun } = chromiumAvailable('game-room browser test');

const root = resolve(import.meta.dirname, '../..');
const refereePath = resolve(root, 'examples/game-room/referee.mjs');
const artifacts = resolve(root, 'test-artifacts/game-room');
const waitMs = 30_000;
const room = 'arena';
// The first coin: a short walk to the right of where players appear (rules.js: the middle ± 60).
const firstCoin = { x: 520, y: 250 };

/** What the page's test hook (window.game in examples/game-room/public/game.js) returns. */
interface Player { client: string; name: string; me: boolean; x?: number; y?: number }
interface ChatLine { system?: true; name?: string; text: string }
interface RoomState { coin?: { x: number; y: number }; scores?: Record<string, { name: string; score: number }> }
interface GameHook {
  state(): RoomState | null;
  players(): Player[];
  chat(): ChatLine[];
  me(): { client: string; name: string; x: number; y: number };
  rooms(): Record<string, { players: number }> | null;
  connected(): boolean;
  reconnecting(): boolean;
  connectionEvents(): Array<{ event: string; detail: unknown; badge: string; at: number }>;
  subscriptions(): Record<string, { seq: number; pending: boolean }> | null;
}
declare const game: GameHook;

/** The referee as a child process: its JSON log lines, waited for by predicate. */
class Referee {
  readonly events: Array<Record<string, unknown>> = [];
  private readonly waiters = new Set<() => void>();
  private stderr = '';

  constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        return;
      }
      for (const w of [...this.waiters]) w();
    });
    child.once('exit', () => [...this.waiters].forEach((w) => w()));
  }

  waitFor(match: (e: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
    return new Promise((resolveEvent, reject) => {
      const check = (): void => {
        const found = this.events.find(match);
        if (found === undefined && this.child.exitCode === null && this.child.signalCode === null) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        if (found !== undefined) resolveEvent(found);
        else reject(new Error(`referee exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}; stderr: ${this.stderr}`));
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${waitMs} ms waiting for the referee: ${what}; stderr: ${this.stderr}`));
      }, waitMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Stops it by PID (SIGTERM, then SIGKILL after 5 s); resolves with its exit code. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}

describe.skipIf(!canRun)('the game-room example in headless Chromium over a three-broker mesh', { timeout: 60_000 }, () => {
  const mesh = new MeshHarness();
  let brokers: BrokerProcess[] = [];
  let referee: Referee | undefined;
  let browser: Browser | undefined;
  let a: Page;
  let b: Page;
  const pageErrors: string[] = [];
  const consoleLog: string[] = [];
  let killedUrl = '';
  let broken = false;
  const killReferee = (): void => {
    if (referee?.child.exitCode === null) referee.child.kill('SIGKILL');
  };

  beforeAll(async () => {
    expect(existsSync(resolve(root, 'dist/client/index.js')), 'dist/ is missing: run npm run build first').toBe(true);
    mkdirSync(artifacts, { recursive: true });
    console.info(`game-room screenshots: ${artifacts}`);
    process.once('exit', killReferee);
    // Started as examples/game-room/README.md suggests for a game: rooms, positions conflated,
    // history per topic family; and rooms expire 2 s after their last player leaves (not 60 s).
    brokers = await mesh.start(3, {}, [
      '--rooms', 'game.*', '--room-empty-ms', '2000',
      '--conflate', 'game.*.pos', '--history', 'game.*.pos=50:32KiB', '--history', 'game.*.chat=200:256KiB',
    ]);
    // The referee starts on the third broker, which stays up, with the others to fall back to.
    const child = spawn(process.execPath, [refereePath, brokers[2]!.url, brokers[1]!.url, brokers[0]!.url], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, REFEREE_FIRST_COIN: `${firstCoin.x},${firstCoin.y}` },
    });
    referee = new Referee(child);
    await referee.waitFor((e) => e['event'] === 'ready', 'ready');
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'], timeout: waitMs });
  }, 60_000);

  afterEach((context) => {
    if (context.task.result?.state === 'fail') broken = true;
  });

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await referee?.stop();
      process.off('exit', killReferee);
      await mesh.finish('game-room example');
    }
  }, 60_000);

  /** Opens the example served by broker `i`, the URL list starting there, and enters a name. */
  async function openPage(label: string, i: number, name: string): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser!.newContext({ viewport: { width: 1200, height: 720 } });
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`${label}: ${err.message}`));
    page.on('console', (msg) => {
      consoleLog.push(`${label} ${msg.type()}: ${msg.text()}`);
      // Connection attempts to the killed broker are the only errors expected.
      if (msg.type() === 'error' && !(killedUrl !== '' && msg.text().includes(killedUrl))) pageErrors.push(`${label} console: ${msg.text()}`);
    });
    const urls = [i, ...[0, 1, 2].filter((j) => j !== i)].map((j) => brokers[j]!.url).join(',');
    await page.goto(`${brokers[i]!.httpUrl}/examples/game-room/?brokers=${urls}`, { timeout: waitMs });
    await waitFor(page, () => game.connected(), undefined, `${label} to connect`);
    await page.fill('#player-name', name);
    return { page, context };
  }

  /** Waits for a condition the page's hook shows (polled on every frame; no fixed sleeps). */
  async function waitFor<T>(page: Page, check: (arg: T) => boolean, arg: T, what: string): Promise<void> {
    try {
      await page.waitForFunction(check as (arg: unknown) => boolean, arg, { timeout: waitMs });
    } catch (err) {
      const seen = await page
        .evaluate(() => ({ players: game.players(), state: game.state(), chat: game.chat(), events: game.connectionEvents(), subscriptions: game.subscriptions() }))
        .catch(() => 'page gone');
      console.error(`the pages' console so far:\n${consoleLog.join('\n')}`);
      throw new Error(`${what}: ${(err as Error).message.split('\n')[0]}; the page shows ${JSON.stringify(seen)}`);
    }
  }

  /**
   * Holds `key` on a page until `done` (evaluated in the page) holds. Callers walk 10 units past
   * what the other page is then asked to see: positions go out rounded to whole units.
   */
  async function hold<T>(page: Page, key: string, done: (arg: T) => boolean, arg: T, what: string): Promise<void> {
    await page.keyboard.down(key);
    try {
      await waitFor(page, done, arg, what);
    } finally {
      await page.keyboard.up(key);
    }
  }

  const hook = <T>(page: Page, read: () => T): Promise<T> => page.evaluate(read);
  const step = (name: string, fn: () => Promise<void>) => it(name, async (context) => {
    if (broken) context.skip();
    await fn();
  });

  step('two players on different brokers join the same room from the lobby', async () => {
    a = (await openPage('A', 0, 'alice')).page;
    await a.fill('#room-name', room);
    await a.click('#join');
    await waitFor(a, () => game.state()?.coin !== undefined && game.players().some((p) => p.me), undefined, 'A in the room with a coin');
    b = (await openPage('B', 1, 'bob')).page;
    // B learns of the room from the lobby the brokers keep, with its live count.
    await waitFor(b, (r) => game.rooms()?.[r]?.players === 1, room, 'the lobby to list the room with 1 player');
    await b.click(`#rooms li[data-room="${room}"] button`);
    for (const page of [a, b]) {
      await waitFor(page, () => game.players().length === 2 && game.players().every((p) => p.x !== undefined), undefined, 'both players, placed');
    }
    await waitFor(a, (r) => game.rooms()?.[r]?.players === 2, room, 'the lobby to count 2 players');
    expect((await hook(a, () => game.state()))?.coin).toEqual(firstCoin);
    await b.screenshot({ path: `${artifacts}/1-joined-b.png` });
  });

  step("B sees A's moves", async () => {
    const before = (await hook(b, () => game.players().find((p) => p.name === 'alice')))!;
    await hold(a, 'ArrowUp', (y0) => game.me().y < y0 - 40, before.y!, 'A to move up');
    await waitFor(b, (y0) => (game.players().find((p) => p.name === 'alice')?.y ?? Infinity) < y0 - 30, before.y!, "B to see A's move");
    const moved = (await hook(b, () => game.players().find((p) => p.name === 'alice')))!;
    expect(moved.x).toBe(before.x);
  });

  step('chat goes both ways', async () => {
    await a.fill('#chat-input', 'hello from alice');
    await a.press('#chat-input', 'Enter');
    await waitFor(b, () => game.chat().some((l) => l.name === 'alice' && l.text === 'hello from alice'), undefined, "A's line at B");
    await b.fill('#chat-input', 'hi alice');
    await b.press('#chat-input', 'Enter');
    await waitFor(a, () => game.chat().some((l) => l.name === 'bob' && l.text === 'hi alice'), undefined, "B's line at A");
  });

  step('a room left empty leaves the lobby; the player list follows a third player joining and leaving', async () => {
    const { page: c, context } = await openPage('C', 2, 'carol');
    // Carol opens a room of her own and leaves it: the brokers take it off the lobby once it has
    // stayed empty for --room-empty-ms (2 s here), and the referee lets it go.
    await c.fill('#room-name', 'lonely');
    await c.click('#join');
    await waitFor(a, () => game.rooms()?.['lonely']?.players === 1, undefined, 'the lobby to list the new room');
    await waitFor(c, () => game.state()?.coin !== undefined, undefined, 'a coin in the new room');
    await c.click('#leave');
    await waitFor(a, () => game.rooms()?.['lonely']?.players === 0, undefined, 'the lobby to count the room empty');
    await waitFor(a, () => game.rooms()?.['lonely'] === undefined, undefined, 'the empty room to leave the lobby');
    await referee!.waitFor((e) => e['event'] === 'room-expired' && e['room'] === 'lonely', 'the expired room let go');
    await c.click(`#rooms li[data-room="${room}"] button`);
    // C joining loads the chat so far from history.
    await waitFor(c, () => game.chat().some((l) => l.text === 'hi alice'), undefined, 'C to load the recent chat');
    for (const page of [a, b]) {
      await waitFor(page, () => game.players().some((p) => p.name === 'carol') && game.chat().some((l) => l.system === true && l.text === 'carol joined'), undefined, 'carol joined');
    }
    await context.close();
    for (const page of [a, b]) {
      await waitFor(page, () => !game.players().some((p) => p.name === 'carol') && game.chat().some((l) => l.system === true && l.text === 'carol left'), undefined, 'carol left');
    }
  });

  step('the referee scores A for reaching the coin with the keys, and moves the coin', async () => {
    const me = await hook(a, () => game.me());
    const coin = (await hook(a, () => game.state()?.coin))!;
    const scored = (): boolean => (game.state()?.scores?.[game.me().client]?.score ?? 0) >= 1;
    // Walk along the farther axis until past the coin on it, then the other; the referee sees
    // every step at 20 Hz, so one of them passes within reach. A few rounds absorb overshoot.
    for (let round = 0; round < 6 && !(await a.evaluate(scored)); round++) {
      const at = await hook(a, () => game.me());
      const horizontal = Math.abs(coin.x - at.x) >= Math.abs(coin.y - at.y);
      const key = horizontal ? (coin.x > at.x ? 'ArrowRight' : 'ArrowLeft') : coin.y > at.y ? 'ArrowDown' : 'ArrowUp';
      await hold(a, key, ({ target, towards }) => {
        const { x, y, client } = game.me();
        if ((game.state()?.scores?.[client]?.score ?? 0) >= 1) return true;
        return { ArrowRight: x >= target.x, ArrowLeft: x <= target.x, ArrowDown: y >= target.y, ArrowUp: y <= target.y }[towards] ?? true;
      }, { target: coin, towards: key }, `A walking ${key} to the coin`);
    }
    for (const page of [a, b]) {
      await waitFor(page, (client) => game.state()?.scores?.[client]?.score === 1, me.client, "A's score of 1");
    }
    const state = (await hook(b, () => game.state()))!;
    expect(state.scores![me.client]).toEqual({ name: 'alice', score: 1 });
    expect(state.coin).not.toEqual(coin);
    await referee!.waitFor((e) => e['event'] === 'score' && e['name'] === 'alice', 'the score in its log');
    await a.screenshot({ path: `${artifacts}/2-scored-a.png` });
  });

  step("both pages recover when A's broker is killed with -9", async () => {
    const me = await hook(a, () => game.me());
    // The broker A is on now: its first, unless a busy machine already sent it elsewhere.
    const before = await hook(a, () => game.connectionEvents());
    const victim = Number(String(before.findLast((e) => e.event !== 'disconnected')!.detail).split('#')[0]!.slice(1));
    killedUrl = brokers[victim]!.url;
    await mesh.kill(victim);
    await waitFor(a, (n) => game.connectionEvents().slice(n).some((e) => e.event === 'reconnected'), before.length, 'A to reconnect');
    // The badge went up as the connection dropped, and down once the client was back. (A broker
    // that cannot serve a resume yet sends the client on to the next URL: rounds may repeat.)
    const events = (await hook(a, () => game.connectionEvents())).slice(before.length);
    expect(events[0]).toMatchObject({ event: 'disconnected', badge: 'reconnecting…' });
    expect(events.filter((e) => e.event === 'reconnected').every((e) => e.badge === '')).toBe(true);
    console.info(`A reconnected ${events.find((e) => e.event === 'reconnected')!.at - events[0]!.at} ms after losing ${killedUrl}`);
    const bEvents = await hook(b, () => game.connectionEvents());
    if (bEvents.length > 1) console.info(`B's connection went through ${JSON.stringify(bEvents)}`);

    // Moves still cross, both ways: A's publishes from its new broker, and its resumed subscription.
    const aAtB = (await hook(b, () => game.players().find((p) => p.name === 'alice')))!;
    await hold(a, 'ArrowDown', (y0) => game.me().y > y0 + 40, aAtB.y!, 'A to move down');
    await waitFor(b, (y0) => (game.players().find((p) => p.name === 'alice')?.y ?? -Infinity) > y0 + 30, aAtB.y!, "B to see A's move after the failover");
    // A's resumed subscription lists bob again once his presence and a position reach it: wait, then read.
    await waitFor(a, () => game.players().some((p) => p.name === 'bob' && p.x !== undefined), null, 'A to see B again after the failover');
    const bAtA = (await hook(a, () => game.players().find((p) => p.name === 'bob')))!;
    await hold(b, 'ArrowLeft', (x0) => game.me().x < x0 - 40, bAtA.x!, 'B to move left');
    await waitFor(a, (x0) => (game.players().find((p) => p.name === 'bob')?.x ?? Infinity) < x0 - 30, bAtA.x!, "A to see B's move after the failover");

    // Scores and chat intact on both, and the chat still goes through.
    await a.fill('#chat-input', 'still here');
    await a.press('#chat-input', 'Enter');
    for (const page of [a, b]) {
      await waitFor(page, () => game.chat().some((l) => l.text === 'still here'), undefined, 'the chat after the failover');
      const texts = (await hook(page, () => game.chat())).filter((l) => !l.system).map((l) => l.text);
      expect(texts).toEqual(['hello from alice', 'hi alice', 'still here']);
      expect((await hook(page, () => game.players())).map((p) => p.name).sort()).toEqual(['alice', 'bob']);
    }
    // A's score came through the failover: at least the coin it took before (its walks since may
    // have crossed the new coin), and the same on both pages once the last pickup reached both.
    // (Two pages, neither of which tells the test: they are asked again until they agree.)
    const scoreOn = (page: Page): Promise<number> => page.evaluate((client) => game.state()?.scores?.[client]?.score ?? 0, me.client);
    await pollUntil(async () => (await scoreOn(a)) === (await scoreOn(b)), waitMs, "both pages to show A's same score");
    expect(await scoreOn(a)).toBeGreaterThanOrEqual(1);
    for (const page of [a, b]) {
      expect(await hook(page, () => game.connected() && !game.reconnecting())).toBe(true);
    }
    await a.screenshot({ path: `${artifacts}/3-after-failover-a.png` });
    await b.screenshot({ path: `${artifacts}/3-after-failover-b.png` });
    expect(pageErrors).toEqual([]);
  });

  step('the referee exits cleanly on SIGTERM', async () => {
    expect(await referee!.stop()).toBe(0);
    expect(referee!.events.some((e) => e['event'] === 'stopping' && e['signal'] === 'SIGTERM')).toBe(true);
  });
});
