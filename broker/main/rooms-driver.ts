/**
 * The driver of rooms (broker/topics/rooms.ts): counts a room's players after each presence change
 * applied here (and for each room loaded from a snapshot), and every `tickMs` publishes what the
 * rooms this broker leads changed — merge patches of the lobby `$rooms`, each within the payload
 * limit, and a `null` state for each room that expired. A patch that is refused (the lobby at its
 * state limit, say) goes again with the next tick. Leadership is asked of the mesh (the first owner of the
 * topic's group: the first broker that claims it, or where the view places its sequencer) or is this
 * broker's alone; when it may have moved (a new view, a claim, a copy complete), every room is counted
 * and announced again by whoever leads it now.
 */
import { Rooms, lobbyTopic, type RoomsConfig, type RoomsTick, type Topics } from '../topics/index.js';

export interface RoomsDriverOptions {
  topics: Topics;
  config: RoomsConfig;
  /** Largest publish payload (a lobby patch is split to stay under it). */
  payloadBytesMax: number;
  /** Whether this broker announces `topic` (its group's first owner now). */
  leads: (topic: string) => boolean;
  /** Changes when leadership may have moved (a view, a claim, a copy complete); undefined alone. */
  leadership: () => string | undefined;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** How often changes are published, ms: the lobby lags a join by at most this. */
const tickMs = 250;

export function startRooms(options: RoomsDriverOptions): { stop(): void } {
  const { topics } = options;
  const rooms = new Rooms(options.config);
  const count = (topic: string): void => rooms.counted(topic, topics.table.get(topic)?.presence.size ?? 0, Date.now());
  topics.onPresence = (topic) => {
    if (rooms.isRoom(topic)) count(topic);
  };
  let leadershipSeen = options.leadership();
  let failing = false;
  const publishLobby = (entries: RoomsTick['lobby']): void => {
    const data: Record<string, unknown> = {};
    for (const [room, entry] of entries) data[room] = entry;
    topics.publishSystem({ topic: lobbyTopic, kind: 'patch', data }, (result) => {
      if (result.ok) {
        failing = false;
        return;
      }
      rooms.retry(entries);
      if (!failing) options.log?.('rooms-lobby-refused', { rooms: entries.length, message: result.message });
      failing = true;
    });
  };
  const timer = setInterval(() => {
    const leadership = options.leadership();
    if (leadership !== leadershipSeen) {
      leadershipSeen = leadership;
      // This copy's counts may be news to the lobby (a joiner's loaded copies; a dead leader's last change).
      for (const name of topics.table.names()) if (rooms.isRoom(name)) count(name);
      rooms.reannounce((room) => topics.table.get(room) !== undefined);
    }
    const { lobby, expired } = rooms.tick(Date.now(), options.leads);
    // Patches within the payload limit: a room's entry is its name and a few bytes.
    let batch: RoomsTick['lobby'] = [];
    let bytes = 0;
    for (const entry of lobby) {
      const size = entry[0].length + 24;
      if (batch.length > 0 && bytes + size > options.payloadBytesMax / 2) {
        publishLobby(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(entry);
      bytes += size;
    }
    if (batch.length > 0) publishLobby(batch);
    for (const room of expired) {
      const state = topics.table.get(room)?.state;
      if (state !== null && state !== undefined) {
        topics.publishSystem({ topic: room, kind: 'state', data: null }, (result) => {
          if (!result.ok) options.log?.('rooms-reset-refused', { room, message: result.message });
        });
      }
    }
  }, tickMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      topics.onPresence = undefined;
    },
  };
}
