/**
 * The driver of rooms (broker/topics/rooms.ts): counts a room's players after each presence change
 * applied here, and every `tickMs` publishes what the rooms this broker leads changed — one merge
 * patch of the lobby `$rooms`, and a `null` state for each room that expired. Leadership is asked
 * of the mesh (the topic's sequencer) or is this broker's alone; a new view makes every room be
 * announced again by whoever leads it now.
 */
import { Rooms, lobbyTopic, type RoomsConfig, type Topics } from '../topics/index.js';

export interface RoomsDriverOptions {
  topics: Topics;
  config: RoomsConfig;
  /** Whether this broker announces `topic` (its stream's sequencer now). */
  leads: (topic: string) => boolean;
  /** Changes when leadership may have moved (the view's id); undefined alone. */
  viewId: () => number | undefined;
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
  let viewSeen = options.viewId();
  const failed = (what: string) => (result: { ok: boolean; message?: string }) => {
    if (!result.ok) options.log?.('rooms-publish-failed', { what, message: result.message });
  };
  const timer = setInterval(() => {
    const view = options.viewId();
    if (view !== viewSeen) {
      viewSeen = view;
      // This copy's counts may be news to the lobby (a joiner's loaded copies; a dead leader's last change).
      for (const name of topics.table.names()) if (rooms.isRoom(name)) count(name);
      rooms.reannounce();
    }
    const { lobbyPatch, expired } = rooms.tick(Date.now(), options.leads);
    if (lobbyPatch !== undefined) topics.publishSystem({ topic: lobbyTopic, kind: 'patch', data: lobbyPatch }, failed('lobby'));
    for (const room of expired) {
      const state = topics.table.get(room)?.state;
      if (state !== null && state !== undefined) topics.publishSystem({ topic: room, kind: 'state', data: null }, failed(room));
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
