/**
 * Rooms: topics matching a configured pattern (`--rooms game.*`) whose presence set is their
 * players. The lobby is the system topic `$rooms`, whose state maps each room to `{ players }`;
 * a room appears with its first player, its count follows joins and leaves, and a room empty for
 * `emptyMs` expires: it leaves the lobby and its state is reset to null, so the next player to
 * come starts a fresh room (its history stays until the topic is evicted).
 *
 * Every broker that keeps a room's topic sees its presence change in the topic's order; only the
 * broker that leads the topic's group (its first owner in the view; the broker itself when alone) announces,
 * so each change is published once. Announcements are absolute counts (a patch sent twice does no
 * harm), batched per `tick`; one that could not be published is handed back (`retry`) and goes
 * with the next. A broker that becomes leader announces again the rooms it knows to be listed
 * (`reannounce`). A room counted empty that this broker never saw with players (a copy loaded
 * after a restart) is not listed, but it does expire — an expiry of a room nobody lists is a
 * no-op patch. Sans-I/O: the driver (broker/main/rooms-driver.ts) brings the time and publishes.
 */
import { matchTopic } from '../../client/protocol/index.js';

/** The lobby: a system topic clients may subscribe to (state: room → `{ players }`) but not publish to. */
export const lobbyTopic = '$rooms';

export interface RoomsConfig {
  /** Topic patterns of rooms (system topics, `$…`, are never rooms). */
  patterns: readonly string[];
  /** How long a room stays empty before it expires, ms. */
  emptyMs: number;
}

/** One room's line in the lobby: its players, or null when it leaves the lobby. */
export type LobbyEntry = { players: number } | null;

/** What one tick publishes: the lobby's changed entries, and the rooms whose state is reset. */
export interface RoomsTick {
  lobby: Array<[room: string, entry: LobbyEntry]>;
  expired: string[];
}

/** Expired rooms remembered (the oldest forgotten first). */
const goneMax = 100_000;

export class Rooms {
  /** Players per room, as this broker's copy has them (rooms it keeps only). */
  private readonly players = new Map<string, number>();
  /** Rooms this broker has seen with players since they were last announced gone: the lobby lists them. */
  private readonly listed = new Set<string>();
  /** Rooms with no players, and since when. */
  private readonly emptySince = new Map<string, number>();
  /** Lobby entries to publish (the latest per room). */
  private readonly pending = new Map<string, LobbyEntry>();
  /** Rooms that expired and have had no player since: an empty count does not track them again. */
  private readonly gone = new Set<string>();

  constructor(private readonly config: RoomsConfig) {}

  isRoom(topic: string): boolean {
    return topic.charCodeAt(0) !== 36 /* $ */ && this.config.patterns.some((pattern) => matchTopic(pattern, topic));
  }

  /** A room's presence set changed (or its copy was loaded): it has `players` now. */
  counted(room: string, players: number, now: number): void {
    if (players === 0 && this.gone.has(room)) return;
    this.gone.delete(room);
    if (players > 0) {
      this.emptySince.delete(room);
      this.listed.add(room);
    } else if (!this.emptySince.has(room)) {
      this.emptySince.set(room, now);
    }
    if (this.players.get(room) === players) return;
    this.players.set(room, players);
    if (this.listed.has(room)) this.pending.set(room, { players });
  }

  /**
   * Leadership may have moved (a view change, a claim, a copy complete): every listed room is
   * announced again by whoever leads it — of those this broker keeps now (`kept`): a count of a room
   * whose copy it let go is stale.
   */
  reannounce(kept: (room: string) => boolean = () => true): void {
    for (const room of this.listed) if (kept(room)) this.pending.set(room, { players: this.players.get(room) ?? 0 });
  }

  /** What to publish now, for the rooms `leads` says this broker announces; the rest is dropped (their leader announces them). */
  tick(now: number, leads: (room: string) => boolean): RoomsTick {
    const expired: string[] = [];
    for (const [room, since] of this.emptySince) {
      if (now - since < this.config.emptyMs) continue;
      // Every copy forgets an expired room; its leader announces it gone and resets its state.
      this.forget(room);
      if (this.gone.size >= goneMax) this.gone.delete(this.gone.values().next().value!);
      this.gone.add(room);
      if (leads(room)) {
        expired.push(room);
        this.pending.set(room, null);
      }
    }
    const lobby: RoomsTick['lobby'] = [];
    for (const [room, entry] of this.pending) if (leads(room)) lobby.push([room, entry]);
    this.pending.clear();
    return { lobby, expired };
  }

  /** Entries that could not be published: they go with the next tick, unless a newer one came meanwhile. */
  retry(entries: RoomsTick['lobby']): void {
    for (const [room, entry] of entries) if (!this.pending.has(room)) this.pending.set(room, entry);
  }

  private forget(room: string): void {
    this.players.delete(room);
    this.listed.delete(room);
    this.emptySince.delete(room);
    this.pending.delete(room);
  }
}
