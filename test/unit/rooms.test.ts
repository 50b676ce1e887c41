// The rooms rule (broker/topics/rooms.ts): what the lobby is told, by whom, and when a room expires.
import { describe, expect, it } from 'vitest';
import { Rooms } from '../../broker/topics/rooms.js';

const config = { patterns: ['game.*'], emptyMs: 1000 };
const always = () => true;
const lobbyOf = (rooms: Rooms, now: number, leads: (room: string) => boolean = always) => Object.fromEntries(rooms.tick(now, leads).lobby);

describe('rooms', () => {
  it('knows its rooms by pattern, never a system topic', () => {
    const rooms = new Rooms(config);
    expect(rooms.isRoom('game.42')).toBe(true);
    expect(rooms.isRoom('game.42.pos')).toBe(false);
    expect(rooms.isRoom('chat.1')).toBe(false);
    expect(new Rooms({ patterns: ['>'], emptyMs: 1 }).isRoom('$rooms')).toBe(false);
  });

  it('announces counts once per tick, only what changed, absolute', () => {
    const rooms = new Rooms(config);
    rooms.counted('game.a', 1, 0);
    rooms.counted('game.a', 2, 0);
    rooms.counted('game.b', 1, 0);
    expect(lobbyOf(rooms, 10)).toEqual({ 'game.a': { players: 2 }, 'game.b': { players: 1 } });
    expect(lobbyOf(rooms, 20)).toEqual({});
    rooms.counted('game.b', 1, 30); // no change
    expect(lobbyOf(rooms, 40)).toEqual({});
  });

  it('expires a room empty for emptyMs, once, and lists it again when a player comes', () => {
    const rooms = new Rooms(config);
    rooms.counted('game.a', 1, 0);
    rooms.counted('game.a', 0, 100);
    expect(lobbyOf(rooms, 200)).toEqual({ 'game.a': { players: 0 } });
    expect(rooms.tick(1099, always)).toEqual({ lobby: [], expired: [] });
    expect(rooms.tick(1100, always)).toEqual({ lobby: [['game.a', null]], expired: ['game.a'] });
    // An empty count after expiry (a view change recounting every copy) does not track it again.
    rooms.counted('game.a', 0, 1200);
    rooms.reannounce();
    expect(rooms.tick(5000, always)).toEqual({ lobby: [], expired: [] });
    rooms.counted('game.a', 1, 6000);
    expect(lobbyOf(rooms, 6001)).toEqual({ 'game.a': { players: 1 } });
  });

  it('announces again only the rooms whose copy this broker keeps (a count of a copy let go is stale)', () => {
    const rooms = new Rooms(config);
    rooms.counted('game.a', 2, 0);
    rooms.counted('game.b', 3, 0);
    rooms.tick(1, always);
    rooms.reannounce((room) => room === 'game.b');
    expect(rooms.tick(2, always)).toEqual({ lobby: [['game.b', { players: 3 }]], expired: [] });
  });

  it('a player back before the time is up keeps the room', () => {
    const rooms = new Rooms(config);
    rooms.counted('game.a', 1, 0);
    rooms.counted('game.a', 0, 0);
    rooms.counted('game.a', 1, 500);
    rooms.counted('game.a', 0, 900);
    expect(rooms.tick(1500, always).expired).toEqual([]);
    expect(rooms.tick(1900, always).expired).toEqual(['game.a']);
  });

  it('does not list a room it never saw with players (a copy loaded after a restart), but expires it', () => {
    const rooms = new Rooms(config);
    rooms.counted('game.old', 0, 0);
    rooms.reannounce();
    expect(rooms.tick(10, always)).toEqual({ lobby: [], expired: [] });
    expect(rooms.tick(1000, always)).toEqual({ lobby: [['game.old', null]], expired: ['game.old'] });
  });

  it('only the leader announces; a new leader announces the listed rooms again', () => {
    const rooms = new Rooms(config);
    let leader = false;
    rooms.counted('game.a', 3, 0);
    rooms.counted('game.b', 1, 0);
    rooms.counted('game.b', 0, 0);
    expect(rooms.tick(500, () => leader)).toEqual({ lobby: [], expired: [] });
    leader = true;
    rooms.reannounce();
    expect(lobbyOf(rooms, 600, () => leader)).toEqual({ 'game.a': { players: 3 }, 'game.b': { players: 0 } });
    // Every copy forgets an expired room; only the leader says so.
    const follower = new Rooms(config);
    follower.counted('game.c', 1, 0);
    follower.counted('game.c', 0, 0);
    expect(follower.tick(1000, () => false)).toEqual({ lobby: [], expired: [] });
    follower.reannounce();
    expect(follower.tick(1001, always)).toEqual({ lobby: [], expired: [] });
  });

  it('hands back what could not be published, unless something newer came meanwhile', () => {
    const rooms = new Rooms(config);
    rooms.counted('game.a', 1, 0);
    rooms.counted('game.b', 1, 0);
    const first = rooms.tick(10, always).lobby;
    rooms.counted('game.b', 2, 20);
    rooms.retry(first);
    expect(lobbyOf(rooms, 30)).toEqual({ 'game.a': { players: 1 }, 'game.b': { players: 2 } });
  });
});
