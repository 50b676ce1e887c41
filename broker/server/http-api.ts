/**
 * The HTTP API (JSON): publish, read a topic, the cluster view, health and
 * metrics. Bodies are validated by schema; topic names by the same rule the
 * WebSocket edge uses; errors carry the protocol's numeric codes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, checkTopic, errorCodeName, systemTopics, messageKinds, type MessageKind } from '../../client/protocol/index.js';
import type { ApplyResult, Topics } from '../topics/index.js';
import { allows, type Action, type Authenticator, type Identity, type Verified } from '../auth/index.js';
import { TokenBucket } from './rate-limits.js';
import { addressKey } from './addresses.js';
import type { BrokerMetrics } from './metrics.js';

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
}

/** May one more request from this client address go ahead now? */
export type AddressRate = (address: string) => boolean;

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

// The topic's own rule (checkTopic: at most 255 bytes …) answers with the protocol's code.
const topicParams = {
  type: 'object',
  required: ['topic'],
  properties: { topic: { type: 'string', minLength: 1 } },
} as const;

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
    data: {},
    kind: { type: 'string', enum: messageKinds },
  },
} as const;

/**
 * An Idempotency-Key scoped by the kind of credential and, for a token, its subject: one caller's
 * key never answers for another's publish, and a token whose subject is `api-key` is not the API
 * key. Injective: neither the credential kind nor the key (its charset) holds a `|`, so the subject
 * between them is read back whole, whatever characters it has.
 */
export function idempotencyScope(identity: Identity, key: string): string {
  return `${identity.credential}|${identity.credential === 'token' ? identity.sub : ''}|${key}`;
}

function httpStatusFor(code: number): number {
  if (code === ErrorCode.PayloadTooLarge || code === ErrorCode.StateTooLarge) return 413;
  if (code === ErrorCode.Unauthorized) return 401;
  if (code === ErrorCode.Forbidden) return 403;
  if (code === ErrorCode.NotReady || code === ErrorCode.ShuttingDown) return 503;
  if (code === ErrorCode.RateLimited) return 429;
  if (code >= 500) return 500;
  return 400;
}

function sendError(reply: FastifyReply, code: number, message: string): FastifyReply {
  return reply.code(httpStatusFor(code)).send({ code, error: errorCodeName(code), message });
}

export function registerHttpApi(app: FastifyInstance, options: HttpApiOptions): void {
  const { topics, metrics, auth } = options;
  const httpRate = options.rate;
  const identities = new WeakMap<FastifyRequest, Identity>();
  /**
   * Every API request, before anything about it is parsed or validated: the per-address rate, then
   * the API key or a token from `Authorization: Bearer …` (anonymous mode lets everyone through).
   * A refused request is answered here, so a malformed one is never cheaper than a valid one.
   */
  const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!httpRate(request.ip)) {
      metrics.requestErrors.inc({ type: 'http', code: String(ErrorCode.RateLimited) });
      await sendError(reply, ErrorCode.RateLimited, 'too many requests from this address; slow down');
      return;
    }
    const verified = await auth.http(request.headers.authorization).catch((): Verified => ({ ok: false, message: 'the credentials could not be verified' }));
    if (!verified.ok) {
      metrics.requestErrors.inc({ type: 'http', code: String(ErrorCode.Unauthorized) });
      await sendError(reply.header('www-authenticate', 'Bearer'), ErrorCode.Unauthorized, verified.message);
      return;
    }
    identities.set(request, verified.identity);
  };
  /** The caller's identity if the topic is valid and `action` on it allowed; answers the refusal itself. */
  const permitted = (request: FastifyRequest, reply: FastifyReply, action: Action, topic: string): Identity | undefined => {
    // System topics (`$rooms`) may be read, never published to.
    const check = action !== 'publish' && systemTopics.has(topic) ? ({ ok: true } as const) : checkTopic(topic, false);
    if (!check.ok) {
      sendError(reply, check.reason === 'reserved' ? ErrorCode.ReservedTopic : ErrorCode.InvalidTopic, `invalid topic name (${check.reason})`);
      return undefined;
    }
    const identity = identities.get(request)!;
    if (!allows(identity.permissions, action, topic)) {
      metrics.requestErrors.inc({ type: 'http', code: String(ErrorCode.Forbidden) });
      sendError(reply, ErrorCode.Forbidden, `not allowed to ${action === 'publish' ? 'publish to' : 'read'} ${topic.slice(0, 64)}`);
      return undefined;
    }
    return identity;
  };

  app.post<{ Params: { topic: string }; Body: { data: unknown; kind?: MessageKind } }>(
    '/api/v1/topics/:topic',
    { onRequest: authenticate, schema: { params: topicParams, body: publishBody } },
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
      return new Promise<FastifyReply>((resolve) => {
        topics.publish({ topic, kind, data: request.body.data, ...(key === undefined ? {} : { key }) }, (result: ApplyResult) => {
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

  app.get<{ Params: { topic: string } }>('/api/v1/topics/:topic', { onRequest: authenticate, schema: { params: topicParams } }, async (request, reply) => {
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

  app.get('/api/v1/cluster', { onRequest: authenticate }, async (_request, reply) => {
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

  if (options.operations !== false) registerOperations(app, options);

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, _request, reply) => {
    if (error.validation !== undefined || (error.statusCode !== undefined && error.statusCode < 500)) {
      const code = error.statusCode === 413 ? ErrorCode.PayloadTooLarge : ErrorCode.BadRequest;
      return reply.code(error.statusCode === 413 ? 413 : 400).send({ code, error: errorCodeName(code), message: error.message });
    }
    return sendError(reply, ErrorCode.Internal, 'internal error');
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ code: ErrorCode.BadRequest, error: 'NotFound', message: `no route ${request.method} ${request.url.slice(0, 100)}` }));
}
