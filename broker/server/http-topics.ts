/**
 * The HTTP API's topic listing and reads beyond one topic's summary: the topics this broker holds
 * (paged by name), a topic's retained messages from a seq (paged), and who is present. Reads go
 * through `Topics.read`, so a mesh broker that does not keep a topic loads it first, and one that
 * cannot vouch for its copies (outside the primary view) answers 503.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, checkSubscribeTopic, decodeFrame, frameFromEncoded, matchTopic, type TopicMessage } from '../../client/protocol/index.js';
import type { HistoryEntry, Topic, Topics } from '../topics/index.js';
import { allows } from '../auth/index.js';
import { errors, numericQuery, presenceEntry, sendError, topicParams, type ApiGuards } from './http-common.js';

/** Most topics, and most messages, one request returns. */
export const pageMax = 1000;
const pageDefault = 100;

const limitSchema = { type: 'integer', minimum: 1, maximum: pageMax, default: pageDefault, description: `At most this many (1–${pageMax}, default ${pageDefault})` } as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pattern: { type: 'string', minLength: 1, maxLength: 255, default: '>', description: 'A topic pattern as subscriptions use it (`*` one token, `>` one or more at the end); default `>`' },
    limit: limitSchema,
    after: { type: 'string', maxLength: 255, description: "The cursor: the previous page's `next` (topics whose names sort after it)" },
  },
} as const;

const listResponse = {
  description: 'One page of topics, sorted by name',
  type: 'object',
  required: ['topics', 'next'],
  properties: {
    topics: {
      type: 'array',
      items: {
        type: 'object',
        required: ['topic', 'seq', 'epoch', 'subscribers'],
        properties: {
          topic: { type: 'string' },
          seq: { type: 'integer', description: "The topic's last seq (0 before its first message)" },
          epoch: { type: 'string' },
          subscribers: { type: 'integer', description: "This broker's own subscribers of the topic (exact subscriptions)" },
        },
      },
    },
    next: { type: ['string', 'null'], description: 'Pass as `after` for the next page; null on the last page' },
  },
} as const;

const historyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'integer', minimum: 1, description: 'The first seq wanted (default: the earliest kept)' },
    limit: limitSchema,
  },
} as const;

const messageSchema = {
  type: 'object',
  required: ['seq', 'kind', 'ts', 'data'],
  properties: {
    seq: { type: 'integer' },
    kind: { type: 'string', enum: ['event', 'state', 'patch'] },
    ts: { type: 'number', description: 'When it was ordered, ms since the Unix epoch' },
    data: { description: 'As published' },
    client: { type: 'string', description: "The publisher's client id (absent for HTTP publishes)" },
  },
} as const;

const historyResponse = {
  description: 'Retained messages from `from`, in seq order',
  type: 'object',
  required: ['topic', 'epoch', 'seq', 'firstSeq', 'messages', 'next'],
  properties: {
    topic: { type: 'string' },
    epoch: { type: 'string', description: "The topic's epoch: seqs of another epoch are another topic's" },
    seq: { type: 'integer', description: "The topic's last seq" },
    firstSeq: { type: ['integer', 'null'], description: 'The earliest seq kept (null: none kept)' },
    messages: { type: 'array', items: messageSchema },
    next: { type: ['integer', 'null'], description: 'Pass as `from` for the next page; null when this page reaches `seq`' },
  },
} as const;

const truncatedResponse = {
  description: '`from` is older than what is kept: ask again from `firstSeq` (or null: nothing is kept; the next message will be `seq` + 1)',
  type: 'object',
  required: ['code', 'error', 'message', 'firstSeq', 'seq'],
  properties: {
    code: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
    firstSeq: { type: ['integer', 'null'] },
    seq: { type: 'integer' },
  },
} as const;

const presenceResponse = {
  description: 'The presence set now',
  type: 'object',
  required: ['topic', 'seq', 'count', 'presence'],
  properties: {
    topic: { type: 'string' },
    seq: { type: 'integer', description: 'The last message before this set' },
    count: { type: 'integer' },
    presence: { type: 'object', additionalProperties: presenceEntry, description: 'Session id → { client, info? }, in join order' },
  },
} as const;

type ReadOutcome = Parameters<Parameters<Topics['read']>[1]>[0];

export function registerTopicRoutes(app: FastifyInstance, topics: Topics, guards: ApiGuards): void {
  const { authenticate, permitted, identity } = guards;
  const read = (topic: string): Promise<ReadOutcome> => new Promise((resolve) => topics.read(topic, resolve));

  app.get<{ Querystring: { pattern: string; limit: number; after?: string } }>(
    '/api/v1/topics',
    {
      onRequest: authenticate,
      preValidation: numericQuery('limit'),
      schema: {
        tags: ['topics'],
        summary: 'The topics this broker holds, by name',
        description:
          'Paged by name: pass the answer\'s `next` as `after`. One broker holds every topic; a mesh broker holds the topics of the lightweight groups it keeps and those its clients subscribe to (no other broker is asked). Only topics the caller may read are listed; system topics (`$rooms`) only for a pattern that names them.',
        querystring: listQuery,
        response: { 200: listResponse, ...errors(400, 401, 429, 503) },
      },
    },
    async (request, reply) => {
      const { pattern, limit, after } = request.query;
      const check = checkSubscribeTopic(pattern);
      if (!check.ok) return sendError(reply, check.reason === 'reserved' ? ErrorCode.ReservedTopic : ErrorCode.InvalidTopic, `invalid topic pattern (${check.reason})`);
      const unavailable = topics.unavailability();
      if (unavailable !== undefined) return sendError(reply, unavailable.code, unavailable.message);
      const permissions = identity(request).permissions;
      // A wildcard never reaches a system topic (as with subscriptions); its own name does.
      const wanted = (name: string): boolean =>
        (name.charCodeAt(0) === 36 /* $ */ ? name === pattern : matchTopic(pattern, name)) && allows(permissions, 'subscribe', name);
      const names = smallestAfter(topics.table.names(), after, limit + 1, wanted);
      const page = names.slice(0, limit);
      return reply.send({
        topics: page.map((name) => {
          const t = topics.table.get(name)!;
          return { topic: name, seq: t.seq, epoch: t.epoch, subscribers: topics.index.subscriberCount(name) };
        }),
        next: names.length > limit ? page[page.length - 1]! : null,
      });
    },
  );

  app.get<{ Params: { topic: string }; Querystring: { from?: number; limit: number } }>(
    '/api/v1/topics/:topic/history',
    {
      onRequest: authenticate,
      preValidation: numericQuery('from', 'limit'),
      schema: {
        tags: ['topics'],
        summary: "A topic's retained messages from a seq",
        description:
          'Messages `from` … in seq order, at most `limit`; the topic keeps its most recent messages (by default 1000 and 1 MiB). A `from` older than the earliest kept is answered 410 with `firstSeq` (error 205 HistoryTruncated), never silently from a later seq. Needs subscribe permission.',
        params: topicParams,
        querystring: historyQuery,
        response: { 200: historyResponse, 410: truncatedResponse, ...errors(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const { topic } = request.params;
      if (permitted(request, reply, 'subscribe', topic) === undefined) return reply;
      const outcome = await read(topic);
      if (!outcome.ok) return sendError(reply, outcome.code, outcome.message);
      const t = outcome.topic;
      const seq = t?.seq ?? 0;
      const firstSeq = t?.history.firstSeq ?? null;
      // The earliest seq that can still be answered: the first kept, or (nothing kept) the next one.
      const earliest = firstSeq ?? seq + 1;
      const from = request.query.from ?? earliest;
      if (from < earliest) {
        const kept = firstSeq === null ? 'no message is kept' : `the earliest kept is seq ${firstSeq}`;
        return sendError(reply, ErrorCode.HistoryTruncated, `seq ${from} of ${topic.slice(0, 64)} is no longer kept: ${kept} (the topic is at seq ${seq})`, { firstSeq, seq });
      }
      const entries = t === undefined || from > seq ? [] : t.history.range(from, request.query.limit);
      const last = entries.length === 0 ? undefined : entries[entries.length - 1]!.seq;
      return reply.send({
        topic,
        epoch: t?.epoch ?? '',
        seq,
        firstSeq,
        messages: entries.map(messageOf),
        next: last !== undefined && last < seq ? last + 1 : null,
      });
    },
  );

  app.get<{ Params: { topic: string } }>(
    '/api/v1/topics/:topic/presence',
    {
      onRequest: authenticate,
      schema: {
        tags: ['topics'],
        summary: 'Who is present on a topic',
        description: 'The presence set, across the mesh: session id → `{ client, info? }`. Needs subscribe and presence permission.',
        params: topicParams,
        response: { 200: presenceResponse, ...errors(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const { topic } = request.params;
      const who = permitted(request, reply, 'subscribe', topic);
      if (who === undefined) return reply;
      if (!allows(who.permissions, 'presence', topic)) return sendError(reply, ErrorCode.Forbidden, `not allowed to see the presence of ${topic.slice(0, 64)}`);
      const outcome = await read(topic);
      if (!outcome.ok) return sendError(reply, outcome.code, outcome.message);
      const t: Topic | undefined = outcome.topic;
      return reply.send({ topic, seq: t?.seq ?? 0, count: t?.presence.size ?? 0, presence: t?.presenceObject() ?? {} });
    },
  );
}

/** A kept message as the API shows it (decoded from its wire form). */
function messageOf(entry: HistoryEntry): { seq: number; kind: string; ts: number; data: unknown; client?: string } {
  const decoded = decodeFrame(frameFromEncoded([entry.encoded], entry.encoded.byteLength));
  if (!decoded.ok) throw new Error(`history entry ${entry.seq} does not decode: ${decoded.reason}`);
  const m = decoded.messages[0] as TopicMessage;
  return m.client === undefined ? { seq: m.seq, kind: m.kind, ts: m.ts, data: m.data } : { seq: m.seq, kind: m.kind, ts: m.ts, data: m.data, client: m.client };
}

/**
 * The `count` smallest names after `after` that `keep` accepts, in order: one pass with a bounded
 * max-heap, O(n log count), whatever the order the table holds them in.
 */
export function smallestAfter(names: Iterable<string>, after: string | undefined, count: number, keep: (name: string) => boolean): string[] {
  const heap: string[] = [];
  const swap = (i: number, j: number): void => void ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
  for (const name of names) {
    if (after !== undefined && name <= after) continue;
    if (heap.length === count && name >= heap[0]!) continue;
    if (!keep(name)) continue;
    if (heap.length < count) {
      heap.push(name);
      for (let i = heap.length - 1; i > 0 && heap[(i - 1) >> 1]! < heap[i]!; i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
      continue;
    }
    heap[0] = name;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let largest = i;
      if (l < heap.length && heap[l]! > heap[largest]!) largest = l;
      if (r < heap.length && heap[r]! > heap[largest]!) largest = r;
      if (largest === i) break;
      swap(i, largest);
      i = largest;
    }
  }
  return heap.sort();
}
