// One room as a player sees it, over three topics:
//   game.<room>       state { coin, scores } kept by the referee, and the presence set (the players)
//   game.<room>.pos   positions { x, y }, 20 Hz, at most once; the sender is the message's `client`
//   game.<room>.chat  chat events { name, text }, resumed from history after a failover
import { arena, clamp, colorFor, heartbeatMs, playerSize, spawnPoint, speed, tickMs, topics, validPosition } from './rules.js';
import { Track } from './view.js';

/** Chat messages loaded from history on joining, and kept on screen. */
const chatTail = 30;
const chatLinesMax = 200;

/** A player gone for less than this was reconnecting (to another broker, say), not leaving. */
const leaveGraceMs = 2000;

export class Room {
  /**
   * `client` is a Chorus client (createClient from /client.js); `name` the room (one topic token);
   * `me` the player's name and colour as the others will see them; `keys` the set of directions
   * held down ('up', 'down', 'left', 'right'); `changed` is called whenever what the page lists changed.
   */
  constructor(client, name, me, keys, changed) {
    this.client = client;
    this.name = name;
    this.me = { ...me, ...spawnPoint() };
    this.keys = keys;
    this.changed = changed;
    /** The client id the broker shows for us: with authentication it is `<sub>|<our id>`, learnt from our own presence entry. */
    // The id others see (with authentication `subject|clientId`); known once connected.
    this.myClient = client.publicId ?? client.clientId;
    this.tracks = new Map(); // client id → Track
    this.known = new Map(); // client id → { name, color }: the players the chat has announced
    this.leaving = new Map(); // client id → timer of a leave not yet announced
    this.lines = [];
    this.lastSent = undefined;
    this.lastSentAt = 0;
    this.left = false;
  }

  async join() {
    const t = topics;
    // Left (or refused) while subscribing: whatever succeeds afterwards is let go at once.
    const keep = (sub) => {
      if (this.left) void sub.unsubscribe();
      return sub;
    };
    const room = this.client.subscribe(t.room(this.name), () => this.changed(), {
      state: true,
      presence: { info: { name: this.me.name, color: this.me.color } },
      onPresence: (e) => this.presenceChanged(e),
      // After a reconnect the presence set is replaced as a whole: what changed meanwhile comes without events.
      onResync: () => this.presenceChanged(),
    }).then((sub) => {
      this.roomSub = keep(sub);
      // Those already here are not news: only later arrivals are announced.
      for (const entry of Object.values(sub.presence ?? {})) this.known.set(entry.client, entry.info ?? {});
    });
    const positions = this.client.subscribe(t.positions(this.name), (m) => this.positionReceived(m)).then((sub) => (this.posSub = keep(sub)));
    const chat = this.subscribeChat().then((sub) => (this.chatSub = keep(sub)));
    // On a refusal the caller leave()s, which lets go of whichever of the three did succeed.
    await Promise.all([room, positions, chat]);
    if (this.left) return;
    this.system(`You joined ${this.name}.`);
    this.lastTick = performance.now();
    this.ticker = setInterval(() => this.tick(), tickMs);
    this.tick();
  }

  /**
   * Chat with the last messages: `subscribe` resumes from a seq but cannot ask for "the last N",
   * so a first subscription learns the topic's seq and epoch and a second resumes from N before.
   */
  async subscribeChat() {
    const topic = topics.chat(this.name);
    const probe = await this.client.subscribe(topic, () => {});
    const { seq, epoch } = probe;
    await probe.unsubscribe();
    const options = { since: Math.max(0, seq - chatTail), onResync: (e) => this.chatResynced(e) };
    if (epoch !== '') options.epoch = epoch;
    return this.client.subscribe(topic, (m) => this.chatReceived(m), options);
  }

  async leave() {
    this.left = true;
    clearInterval(this.ticker);
    for (const timer of this.leaving.values()) clearTimeout(timer);
    await Promise.allSettled([this.roomSub, this.posSub, this.chatSub].map((s) => s?.unsubscribe()));
  }

  /** The room state as the referee keeps it: { coin: { x, y }, scores: { <client>: { name, score } } }. */
  get state() {
    return this.roomSub?.state ?? null;
  }

  /** Everyone in the presence set now (one entry per client: a reconnect can show two sessions for a while). */
  players(now = performance.now()) {
    const players = [];
    for (const [client, info] of this.presentClients()) {
      const me = client === this.myClient;
      const at = me ? this.me : this.tracks.get(client)?.at(now);
      players.push({
        client,
        name: String(info.name ?? '?'),
        color: String(info.color ?? colorFor(client)),
        me,
        x: at?.x,
        y: at?.y,
      });
    }
    return players;
  }

  /** Like players(), with the last position received rather than the one drawn (for tests). */
  playersNow() {
    return this.players().map((p) => {
      const last = p.me ? this.me : this.tracks.get(p.client)?.latest();
      return { ...p, x: last?.x, y: last?.y };
    });
  }

  presentClients() {
    const clients = new Map();
    for (const [session, entry] of Object.entries(this.roomSub?.presence ?? {})) {
      if (this.client.publicId !== undefined) this.myClient = this.client.publicId;
      if (!clients.has(entry.client)) clients.set(entry.client, entry.info ?? {});
    }
    return clients;
  }

  presenceChanged(event) {
    const present = this.presentClients();
    for (const [client, info] of present) {
      const pending = this.leaving.get(client);
      if (pending !== undefined) {
        clearTimeout(pending);
        this.leaving.delete(client);
      }
      if (!this.known.has(client) && client !== this.myClient) this.system(`${info.name ?? '?'} joined`);
      this.known.set(client, info);
    }
    for (const [client, info] of this.known) {
      if (present.has(client) || this.leaving.has(client)) continue;
      this.leaving.set(client, setTimeout(() => {
        this.leaving.delete(client);
        this.known.delete(client);
        this.tracks.delete(client);
        this.system(`${info.name ?? '?'} left`);
      }, leaveGraceMs));
    }
    // A newcomer knows nobody's position: everyone sends theirs at the next tick instead of the next heartbeat.
    if (event?.type === 'join') this.lastSentAt = 0;
    this.changed();
  }

  positionReceived(message) {
    if (message.client === undefined || message.client === this.myClient || !validPosition(message.data)) return;
    let track = this.tracks.get(message.client);
    if (track === undefined) this.tracks.set(message.client, (track = new Track()));
    track.push(message.data.x, message.data.y, performance.now());
  }

  chatReceived(message) {
    const data = message.data;
    if (data === null || typeof data !== 'object' || typeof data.text !== 'string') return;
    this.addLine({ seq: message.seq, client: message.client, name: String(data.name ?? '?').slice(0, 24), text: data.text.slice(0, 200) });
  }

  chatResynced(event) {
    if (!event.recovered) this.system('Some chat messages could not be recovered.');
  }

  /** Sends a chat line. Acknowledged: while reconnecting it waits in the client and goes once. */
  say(text) {
    return this.client.publish(topics.chat(this.name), { name: this.me.name, text: text.slice(0, 200) });
  }

  system(text) {
    this.addLine({ system: true, text });
  }

  addLine(line) {
    this.lines.push(line);
    if (this.lines.length > chatLinesMax) this.lines.splice(0, this.lines.length - chatLinesMax);
    this.changed();
  }

  /** Moves by the keys held, and sends the position when it changed (or as a heartbeat). */
  tick() {
    const now = performance.now();
    // A throttled background tab ticks rarely: cap the step so it does not teleport.
    const dt = Math.min(0.25, (now - this.lastTick) / 1000);
    this.lastTick = now;
    const dx = (this.keys.has('right') ? 1 : 0) - (this.keys.has('left') ? 1 : 0);
    const dy = (this.keys.has('down') ? 1 : 0) - (this.keys.has('up') ? 1 : 0);
    if (dx !== 0 || dy !== 0) {
      const step = (speed * dt) / Math.hypot(dx, dy);
      const half = playerSize / 2;
      this.me.x = clamp(this.me.x + dx * step, half, arena.width - half);
      this.me.y = clamp(this.me.y + dy * step, half, arena.height - half);
    }
    const position = { x: Math.round(this.me.x), y: Math.round(this.me.y) };
    const moved = this.lastSent === undefined || position.x !== this.lastSent.x || position.y !== this.lastSent.y;
    // Positions are worth nothing late: none are queued while the client reconnects.
    if (!this.client.connected || (!moved && now - this.lastSentAt < heartbeatMs)) return;
    this.lastSent = position;
    this.lastSentAt = now;
    this.client.publish(topics.positions(this.name), position, { ack: false }).catch((err) => console.warn('position not sent:', err.message));
  }
}
