/**
 * The HTTP API (JSON): publish, read a topic, its history and presence, list topics, disconnect a
 * session, the cluster view, the OpenAPI document; health and metrics. Every route has JSON
 * schemas (params, query, body, responses): they validate requests, shape answers and make the
 * OpenAPI document (@fastify/swagger) served at /api/v1/openapi.json. Topic names are checked by
 * the same rule the WebSocket edge uses; errors carry the protocol's numeric codes.
 */
import { createHash } from 'node:crypto';
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, messageKinds, type MessageKind } from '../../client/protocol/index.js';
import type { ApplyResult, Topics } from '../topics/index.js';
import { allows, type Authenticator, type Identity } from '../auth/index.js';
import { TokenBucket } from './rate-limits.js';
import { addressKey } from './addresses.js';
import type { BrokerMetrics } from './metrics.js';
import { apiGuards, errors, presenceEntry, sendError, topicParams, type AddressRate } from './http-common.js';
import { registerTopicRoutes } from './http-topics.js';
import { registerSessionRoutes, type SessionControl } from './http-sessions.js';

export type { AddressRate } from './http-common.js';

export interface HttpApiOptions {
  brokerId: string;
  topics: Topics;
  metrics: BrokerMetrics;
  isReady: () => boolean;
  isAccepting: () => boolean;
  startedAt: number;
  cluster?: () => unknown;
  auth: Authenticator;
  /** Serve /metrics, /livez and /readyz here (false when an internal port serves them). Default true. */
  operations?: boolean;
  /** The per-address rate of API requests (see `perAddressRate`). */
  rate: AddressRate;
  /** The client sessions of this broker (the gateway), for `DELETE /api/v1/sessions/:id`. */
  sessions: SessionControl;
  /** The start of this broker's session ids (in a mesh `<broker>/`); default ''. */
  sessionPrefix?: () => string;
}

/**
 * A token bucket per client address — an IPv6 client's whole /64 counts as one — with at most
 * 10 000 addresses remembered, the oldest going first. `perSecond` 0: no limit.
 */
export function perAddressRate(perSecond: number): AddressRate {
  const buckets = new Map<string, TokenBucket>();
  return (ip) => {
    if (perSecond === 0) return true;
    const address = addressKey(ip);
    let bucket = buckets.get(address);
    if (bucket === undefined) {
      if (buckets.size >= 10_000) buckets.delete(buckets.keys().next().value!);
      buckets.set(address, (bucket = new TokenBucket(perSecond, perSecond, performance.now())));
    }
    return bucket.take(1, performance.now());
  };
}

/** `/livez` (the process answers), `/readyz` (primary view, not draining) and `/metrics`, for probes and scrapers. */
export function registerOperations(app: FastifyInstance, options: Pick<HttpApiOptions, 'isReady' | 'metrics'>): void {
  app.get('/livez', (_request, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', (_request, reply) =>
    options.isReady() ? reply.send({ status: 'ready' }) : reply.code(503).send({ status: 'not ready' }),
  );
  app.get('/metrics', async (_request, reply) => reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics()));
}

/** A 255-byte topic name, percent-encoded, is at most 765 characters of URL. */
export const maxParamLength = 1024;

/**
 * Fastify's own refusals before routing (a URL that does not decode, a parameter longer than
 * `maxParamLength`) in the API's format, under the same per-address rate.
 */
export function frameworkErrors(rate: AddressRate, metrics: BrokerMetrics) {
  return (error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void => {
    if (!rate(request.ip)) {
      metrics.requestErrors.inc({ type: 'http', code: String(ErrorCode.RateLimited) });
      void sendError(reply, ErrorCode.RateLimited, 'too many requests from this address; slow down');
      return;
    }
    metrics.requestErrors.inc({ type: 'http', code: String(ErrorCode.BadRequest) });
    if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') void sendError(reply, ErrorCode.InvalidTopic, 'invalid topic name (too long)');
    else void sendError(reply, ErrorCode.BadRequest, 'the URL does not decode');
  };
}

const publishBody = {
  type: 'object',
  required: ['data'],
  additionalProperties: false,
  properties: {
    data: { description: 'Any plain JSON value, at most 24 levels deep, within payloadBytesMax as msgpack' },
    kind: { type: 'string', enum: messageKinds, default: 'event', description: 'event (default), state (replaces the state) or patch (RFC 7386 merge patch)' },
  },
} as const;

const publishHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': { type: 'string', description: 'A retry with the same key and the same body is applied once (answered `dup: true`); with another body it is refused (422). 1–128 characters of [A-Za-z0-9_.:-]' },
  },
} as const;

const publishResponse = {
  description: 'Applied (or, with `dup`, applied before under this Idempotency-Key)',
  type: 'object',
  required: ['topic', 'seq'],
  properties: {
    topic: { type: 'string' },
    seq: { type: 'integer', description: "The message's seq in its topic" },
    dup: { type: 'boolean', description: 'Present (true) when this Idempotency-Key was already applied: seq is the first publish\'s' },
  },
} as const;

const readResponse = {
  description: "The topic as this broker keeps it (seq 0, empty epoch, null state when it does not exist)",
  type: 'object',
  required: ['topic', 'seq', 'epoch', 'state', 'subscribers', 'history'],
  properties: {
    topic: { type: 'string' },
    seq: { type: 'integer' },
    epoch: { type: 'string' },
    state: { description: 'The state a late subscriber loads (null until a state or patch message)' },
    subscribers: { type: 'integer', description: "This broker's own subscribers of the topic" },
    presence: { type: 'object', additionalProperties: presenceEntry, description: 'Only with presence permission: session id → { client, info? }' },
    history: {
      type: 'object',
      required: ['length', 'bytes', 'firstSeq'],
      properties: { length: { type: 'integer' }, bytes: { type: 'integer' }, firstSeq: { type: ['integer', 'null'] } },
    },
  },
} as const;

/**
 * The digest an Idempotency-Key is kept with: SHA-256 over the kind and the data as canonical JSON
 * (object keys sorted), so the same body sent again with its keys in another order is the same
 * body. Undefined past 64 levels (such data is refused by the publish's own depth check).
 */
export function bodyDigest(kind: string, data: unknown): string | undefined {
  const out: string[] = [];
  if (!canonicalJson(data, 0, out)) return undefined;
  return createHash('sha256').update(kind).update('\n').update(out.join('')).digest('base64url').slice(0, 22);
}

function canonicalJson(value: unknown, depth: number, out: string[]): boolean {
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      if (!canonicalJson(value[i], depth + 1, out)) return false;
    }
    out.push(']');
    return true;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    out.push('{');
    const keys = Object.keys(record).sort();
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) out.push(',');
      out.push(JSON.stringify(keys[i]), ':');
      if (!canonicalJson(record[keys[i]!], depth + 1, out)) return false;
    }
    out.push('}');
    return true;
  }
  out.push(JSON.stringify(value) ?? 'null');
  return true;
}

/**
 * An Idempotency-Key scoped by the kind of credential and, for a token, its subject: one caller's
 * key never answers for another's publish, and a token whose subject is `api-key` is not the API
 * key. Injective: neither the credential kind nor the key (its charset) holds a `|`, so the subject
 * between them is read back whole, whatever characters it has.
 */
export function idempotencyScope(identity: Identity, key: string): string {
  return `${identity.credential}|${identity.credential === 'token' ? identity.sub : ''}|${key}`;
}

export async function registerHttpApi(app: FastifyInstance, options: HttpApiOptions): Promise<void> {
  const { topics, metrics, auth } = options;
  const guards = apiGuards(auth, options.rate, metrics);
  const { authenticate, permitted } = guards;
  // Before the routes: it records each route's schema as it is added. Only tagged routes (the
  // /api/v1 ones) are in the document; /ws, /client.js and the probes are not.
  await app.register(swagger, {
    hideUntagged: true,
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Chorus HTTP API', version: 'v1', description: 'Publish, read topics, their history and presence, list topics, disconnect sessions. docs/http-api.md' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The API key (--api-key) or a JWT (--auth jwt); not needed in anonymous mode' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'topics', description: 'Publish and read topics' },
        { name: 'sessions', description: "This broker's client sessions" },
        { name: 'cluster', description: 'This broker and its mesh' },
        { name: 'meta', description: 'This document' },
      ],
    },
  });

  app.post<{ Params: { topic: string }; Body: { data: unknown; kind?: MessageKind } }>(
    '/api/v1/topics/:topic',
    {
      onRequest: authenticate,
      schema: {
        tags: ['topics'],
        summary: 'Publish to a topic',
        description: 'Needs publish permission. With an Idempotency-Key a retry with the same body is applied once; the same key with another body is refused with 422 (error 104 IdempotencyKeyReused) and nothing is applied.',
        params: topicParams,
        headers: publishHeaders,
        body: publishBody,
        response: { 200: publishResponse, ...errors(400, 401, 403, 413, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const { topic } = request.params;
      const identity = permitted(request, reply, 'publish', topic);
      if (identity === undefined) return reply;
      if (!options.isAccepting()) return sendError(reply, ErrorCode.NotReady, 'this broker is not taking publishes now');
      const idempotency = request.headers['idempotency-key'];
      if (idempotency !== undefined && (typeof idempotency !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(idempotency))) {
        return sendError(reply, ErrorCode.BadRequest, 'Idempotency-Key must be 1–128 characters of [A-Za-z0-9_.:-]');
      }
      const key = idempotency === undefined ? undefined : idempotencyScope(identity, idempotency);
      const kind = request.body.kind ?? 'event';
      const digest = key === undefined ? undefined : bodyDigest(kind, request.body.data);
      return new Promise<FastifyReply>((resolve) => {
        topics.publish({ topic, kind, data: request.body.data, ...(key === undefined ? {} : { key }), ...(digest === undefined ? {} : { digest }) }, (result: ApplyResult) => {
          if (!result.ok) {
            metrics.requestErrors.inc({ type: 'http_pub', code: String(result.code) });
            return resolve(sendError(reply, result.code, result.message));
          }
          if (result.dup !== true) metrics.messagesIn.inc({ via: 'http' });
          resolve(reply.send(result.dup === true ? { topic, seq: result.seq, dup: true } : { topic, seq: result.seq }));
        });
      });
    },
  );

  const readSchema = {
    tags: ['topics'],
    summary: 'Read a topic: seq, epoch, state, subscribers, presence, history bounds',
    description: 'Needs subscribe permission; the presence set is shown only with presence permission.',
    params: topicParams,
    response: { 200: readResponse, ...errors(400, 401, 403, 429, 503) },
  };
  app.get<{ Params: { topic: string } }>('/api/v1/topics/:topic', { onRequest: authenticate, schema: readSchema }, async (request, reply) => {
    const { topic } = request.params;
    const identity = permitted(request, reply, 'subscribe', topic);
    if (identity === undefined) return reply;
    const outcome = await new Promise<Parameters<Parameters<Topics['read']>[1]>[0]>((resolve) => topics.read(topic, resolve));
    if (!outcome.ok) return sendError(reply, outcome.code, outcome.message);
    const t = outcome.topic;
    return reply.send({
      topic,
      seq: t?.seq ?? 0,
      epoch: t?.epoch ?? '',
      state: t?.state ?? null,
      subscribers: topics.index.subscriberCount(topic),
      // Who is present is shown only to those who may see presence.
      ...(allows(identity.permissions, 'presence', topic) ? { presence: t?.presenceObject() ?? {} } : {}),
      history: { length: t?.history.length ?? 0, bytes: t?.history.byteLength ?? 0, firstSeq: t?.history.firstSeq ?? null },
    });
  });

  const clusterSchema = {
    tags: ['cluster'],
    summary: "This broker and the core group's view",
    description: 'One broker: its id, mode, readiness, view and uptime. A mesh broker adds its links, lightweight groups and what it keeps (docs/mesh.md). Any valid credential.',
    response: { 200: { description: 'This broker, its view and (in a mesh) its groups', type: 'object', additionalProperties: true }, ...errors(401, 429) },
  };
  app.get('/api/v1/cluster', { onRequest: authenticate, schema: clusterSchema }, async (_request, reply) => {
    return reply.send(
      options.cluster?.() ?? {
        broker: options.brokerId,
        mode: 'single',
        ready: options.isReady(),
        view: { id: 1, members: [options.brokerId], primary: true },
        uptimeSeconds: Math.round((Date.now() - options.startedAt) / 1000),
      },
    );
  });

  registerTopicRoutes(app, topics, guards);
  registerSessionRoutes(app, options.sessions, guards, options.sessionPrefix ?? (() => ''));

  // The OpenAPI document of the routes above, built once on first request. Open (no credentials:
  // it describes the API, no data), under the per-address rate like the API.
  let document: string | undefined;
  const openapiSchema = {
    tags: ['meta'],
    summary: 'This document (OpenAPI 3.1)',
    description: 'Open: no credentials needed.',
    security: [],
    response: { 200: { description: 'The OpenAPI document', type: 'object', additionalProperties: true }, ...errors(429) },
  };
  app.get('/api/v1/openapi.json', { onRequest: guards.rateOnly, schema: openapiSchema }, async (_request, reply) => {
    document ??= JSON.stringify(app.swagger());
    return reply.type('application/json; charset=utf-8').send(document);
  });

  if (options.operations !== false) registerOperations(app, options);

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, _request, reply) => {
    if (error.validation !== undefined || (error.statusCode !== undefined && error.statusCode < 500)) {
      const code = error.statusCode === 413 ? ErrorCode.PayloadTooLarge : ErrorCode.BadRequest;
      return sendError(reply, code, error.message);
    }
    return sendError(reply, ErrorCode.Internal, 'internal error');
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ code: ErrorCode.BadRequest, error: 'NotFound', message: `no route ${request.method} ${request.url.slice(0, 100)}` }));
}
