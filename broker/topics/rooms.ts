/**
 * Rooms: topics matching a configured pattern (`--rooms game.*`) whose presence set is their
 * players. The lobby is the system topic `$rooms`, whose state maps each room to `{ players }`;
 * a room appears with its first player, its count follows joins and leaves, and a room empty for
 * `emptyMs` expires: it leaves the lobby and its state is reset to null, so the next player to
 * come starts a fresh room (its history stays until the topic is evicted).
 *
 * Every broker that keeps a room's topic sees its presence change in the topic's order; only the
 * broker that leads the topic's stream (its sequencer; the broker itself when alone) announces,
 * so each change is published once. The lobby is changed by merge patches, one per `tick` for
 * everything that changed since the last (absolute counts, so a patch sent twice does no harm);
 * a broker that becomes leader announces again what it leads (`reannounce`). Sans-I/O: the
 * driver (broker/main/rooms-driver.ts) brings the time and publishes what `tick` returns.
 */
import { matchTopic } from '../../client/protocol/index.js';

/** The lobby: a system topic clients may subscribe to (state: room → `{ players }`) but not publish to. */
export const lobbyTopic = '$rooms';

export interface RoomsConfig {
  /** Topic patterns of rooms. */
  patterns: readonly string[];
  /** How long a room stays empty before it expires, ms. */
  emptyMs: number;
}

/** What one tick publishes: a patch of the lobby, and the rooms whose state is reset. */
export interface RoomsTick {
  lobbyPatch: Record<string, { players: number } | null> | undefined;
  expired: string[];
}

/** Expired rooms remembered (the oldest forgotten first). */
const goneMax = 100_000;

export class Rooms {
  /** Players per room, as this broker's copy has them (rooms it keeps only). */
  private readonly players = new Map<string, number>();
  /** Rooms with no players, and since when. */
  private readonly emptySince = new Map<string, number>();
  /** Rooms whose count changed since the last tick. */
  private readonly changed = new Set<string>();
  /** Rooms that expired and have had no player since: an empty count does not list them again. */
  private readonly gone = new Set<string>();

  constructor(private readonly config: RoomsConfig) {}

  isRoom(topic: string): boolean {
    return this.config.patterns.some((pattern) => matchTopic(pattern, topic));
  }

  /** A room's presence set changed (or was loaded): it has `players` now. */
  counted(room: string, players: number, now: number): void {
    if (players === 0 && this.gone.has(room)) return;
    this.gone.delete(room);
    if (this.players.get(room) === players) return;
    this.players.set(room, players);
    this.changed.add(room);
    if (players > 0) this.emptySince.delete(room);
    else if (!this.emptySince.has(room)) this.emptySince.set(room, now);
  }

  /** This broker no longer keeps the room's topic: it forgets it (its new keepers announce it). */
  forget(room: string): void {
    this.players.delete(room);
    this.emptySince.delete(room);
    this.changed.delete(room);
  }

  /** Leadership may have moved (a view change): every room is announced again by whoever leads it. */
  reannounce(): void {
    for (const room of this.players.keys()) this.changed.add(room);
  }

  /** What to publish now, for the rooms `leads` says this broker announces. */
  tick(now: number, leads: (room: string) => boolean): RoomsTick {
    let lobbyPatch: RoomsTick['lobbyPatch'];
    const expired: string[] = [];
    for (const [room, since] of this.emptySince) {
      if (now - since < this.config.emptyMs || !leads(room)) continue;
      expired.push(room);
      (lobbyPatch ??= {})[room] = null;
      this.forget(room);
      this.gone.add(room);
      if (this.gone.size > goneMax) this.gone.delete(this.gone.values().next().value!);
    }
    for (const room of this.changed) {
      if (!leads(room)) continue;
      this.changed.delete(room);
      const players = this.players.get(room)!;
      (lobbyPatch ??= {})[room] = { players };
    }
    return { lobbyPatch, expired };
  }
}
