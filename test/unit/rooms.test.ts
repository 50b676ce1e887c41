// The rooms rule (broker/topics/rooms.ts): what the lobby is told, by whom, and when a room expires.
import { describe, expect, it } from 'vitest';
import { Rooms } from '../../broker/topics/rooms.js';

const config = { patterns: ['game.*'], emptyMs: 1000 };
const always = () => true;

describe('rooms', () => {
  it('knows its rooms by pattern', () => {
    const rooms = new Rooms(config);
    expect(rooms.isRoom('game.42')).toBe(true);
    expect(rooms.isRoom('game.42.pos')).toBe(false);
    expect(rooms.isRoom('chat.1')).toBe(false);
  });

  it('announces counts in one patch per tick, only what changed, absolute', () => {
    const rooms = new Rooms(config);
    rooms.counted('game.a', 1, 0);
    rooms.counted('game.a', 2, 0);
    rooms.counted('game.b', 1, 0);
    expect(rooms.tick(10, always)).toEqual({ lobbyPatch: { 'game.a': { players: 2 }, 'game.b': { players: 1 } }, expired: [] });
    expect(rooms.tick(20, always)).toEqual({ lobbyPatch: undefined, expired: [] });
    rooms.counted('game.b', 1, 30); // no change
    expect(rooms.tick(40, always).lobbyPatch).toBeUndefined();
  });

  it('expires a room empty for emptyMs, once, and lists it again when a player comes', () => {
    const rooms = new Rooms(config);
    rooms.counted('game.a', 1, 0);
    rooms.counted('game.a', 0, 100);
    expect(rooms.tick(200, always)).toEqual({ lobbyPatch: { 'game.a': { players: 0 } }, expired: [] });
    expect(rooms.tick(1099, always)).toEqual({ lobbyPatch: undefined, expired: [] });
    expect(rooms.tick(1100, always)).toEqual({ lobbyPatch: { 'game.a': null }, expired: ['game.a'] });
    // An empty count after expiry (a view change recounting every copy) does not list it again.
    rooms.counted('game.a', 0, 1200);
    rooms.reannounce();
    expect(rooms.tick(5000, always)).toEqual({ lobbyPatch: undefined, expired: [] });
    rooms.counted('game.a', 1, 6000);
    expect(rooms.tick(6001, always).lobbyPatch).toEqual({ 'game.a': { players: 1 } });
  });

  it('a player back before the time is up keeps the room', () => {
    const rooms = new Rooms(config);
    rooms.counted('game.a', 0, 0);
    rooms.counted('game.a', 1, 500);
    rooms.counted('game.a', 0, 900);
    expect(rooms.tick(1500, always).expired).toEqual([]);
    expect(rooms.tick(1900, always).expired).toEqual(['game.a']);
  });

  it('only the leader announces; a new leader announces what it holds after reannounce', () => {
    const rooms = new Rooms(config);
    let leader = false;
    rooms.counted('game.a', 3, 0);
    rooms.counted('game.b', 0, 0);
    expect(rooms.tick(5000, () => leader)).toEqual({ lobbyPatch: undefined, expired: [] });
    leader = true;
    rooms.reannounce();
    expect(rooms.tick(5001, () => leader)).toEqual({ lobbyPatch: { 'game.b': null, 'game.a': { players: 3 } }, expired: ['game.b'] });
  });
});
