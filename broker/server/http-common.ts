/**
 * What every HTTP API route shares: the error format (the protocol's numeric codes, an HTTP status
 * for each), the checks run before a request is looked at (per-address rate, credentials), the
 * per-topic permission check, numeric query parameters, and the JSON schemas of the common parts
 * (they validate requests, shape responses and make the OpenAPI document).
 */
import type { FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify';
import { ErrorCode, checkTopic, errorCodeName, systemTopics } from '../../client/protocol/index.js';
import { allows, type Action, type Authenticator, type Identity, type Verified } from '../auth/index.js';
import type { BrokerMetrics } from './metrics.js';

/** May one more request from this client address go ahead now? */
export type AddressRate = (address: string) => boolean;

export function httpStatusFor(code: number): number {
  if (code === ErrorCode.PayloadTooLarge || code === ErrorCode.StateTooLarge) return 413;
  if (code === ErrorCode.Unauthorized) return 401;
  if (code === ErrorCode.Forbidden) return 403;
  if (code === ErrorCode.UnknownSession) return 404;
  if (code === ErrorCode.HistoryTruncated) return 410;
  if (code === ErrorCode.IdempotencyKeyReused) return 422;
  if (code === ErrorCode.NotReady || code === ErrorCode.ShuttingDown || code === ErrorCode.Unavailable) return 503;
  if (code === ErrorCode.RateLimited) return 429;
  if (code >= 500) return 500;
  return 400;
}

/** Answers `{ code, error, message, …extra }` with the code's HTTP status. */
export function sendError(reply: FastifyReply, code: number, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(httpStatusFor(code)).send({ code, error: errorCodeName(code), message, ...extra });
}

/** The error body: the protocol's code, its name, and what happened in words. */
export const errorSchema = {
  type: 'object',
  required: ['code', 'error', 'message'],
  properties: {
    code: { type: 'integer', description: "The protocol's error code (docs/protocol.md §13)" },
    error: { type: 'string', description: "The code's name" },
    message: { type: 'string' },
  },
} as const;

/** Error responses by HTTP status, for a route's `response` schema. */
export function errors(...statuses: number[]): Record<number, unknown> {
  const described: Record<number, string> = {
    400: 'Malformed request, invalid topic name or pattern',
    401: 'No or bad credentials (Authorization: Bearer <API key or token>)',
    403: 'The credentials do not allow this',
    404: 'Not found on this broker',
    410: 'Older than what is kept',
    413: 'Payload or resulting state too large',
    422: 'Idempotency-Key already used with a different body',
    429: 'Too many requests from this address',
    503: 'This broker cannot serve this now (draining, or outside the primary view): retry, perhaps at another broker',
  };
  return Object.fromEntries(statuses.map((s) => [s, { description: described[s] ?? 'Error', ...errorSchema }]));
}

/** One member of a topic's presence set. */
export const presenceEntry = {
  type: 'object',
  required: ['client'],
  properties: { client: { type: 'string', description: "The member's client id" }, info: { description: 'As the member gave it' } },
} as const;

export const topicParams = {
  type: 'object',
  required: ['topic'],
  additionalProperties: false,
  // The topic's own rule (checkTopic: at most 255 bytes …) answers with the protocol's code.
  properties: { topic: { type: 'string', minLength: 1, description: 'A topic name (percent-encoded in the path)' } },
} as const;

/**
 * The app validates with coercion off (a body's `"1"` stays a string), so a query's numbers are
 * turned into numbers here, before validation: only whole decimal numbers, anything else stays a
 * string and fails the schema.
 */
export function numericQuery(...names: string[]): preValidationHookHandler {
  return (request, _reply, done) => {
    const query = request.query as Record<string, unknown>;
    for (const name of names) {
      const value = query[name];
      if (typeof value === 'string' && /^[0-9]{1,15}$/.test(value)) query[name] = Number(value);
    }
    done();
  };
}

export interface ApiGuards {
  /** onRequest hook of every API route: the rate, then the credentials; answers a refusal itself. */
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** onRequest hook of an open route (the OpenAPI document): the rate only. */
  rateOnly: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** The caller's identity (after `authenticate`). */
  identity: (request: FastifyRequest) => Identity;
  /** The caller's identity if the topic is valid and `action` on it allowed; answers the refusal itself. */
  permitted: (request: FastifyRequest, reply: FastifyReply, action: Action, topic: string) => Identity | undefined;
}

export function apiGuards(auth: Authenticator, rate: AddressRate, metrics: BrokerMetrics): ApiGuards {
  const identities = new WeakMap<FastifyRequest, Identity>();
  const rateOnly = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (rate(request.ip)) return;
    metrics.requestErrors.inc({ type: 'http', code: String(ErrorCode.RateLimited) });
    await sendError(reply, ErrorCode.RateLimited, 'too many requests from this address; slow down');
  };
  /**
   * Every API request, before anything about it is parsed or validated: the per-address rate, then
   * the API key or a token from `Authorization: Bearer …` (anonymous mode lets everyone through).
   * A refused request is answered here, so a malformed one is never cheaper than a valid one.
   */
  const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    await rateOnly(request, reply);
    if (reply.sent) return;
    const verified = await auth.http(request.headers.authorization).catch((): Verified => ({ ok: false, message: 'the credentials could not be verified', reason: 'signature' }));
    if (!verified.ok) {
      metrics.requestErrors.inc({ type: 'http', code: String(ErrorCode.Unauthorized) });
      metrics.authFailures.inc({ via: 'http', reason: verified.reason });
      await sendError(reply.header('www-authenticate', 'Bearer'), ErrorCode.Unauthorized, verified.message);
      return;
    }
    identities.set(request, verified.identity);
  };
  const identity = (request: FastifyRequest): Identity => identities.get(request)!;
  const permitted = (request: FastifyRequest, reply: FastifyReply, action: Action, topic: string): Identity | undefined => {
    // System topics (`$rooms`) may be read, never published to.
    const check = action !== 'publish' && systemTopics.has(topic) ? ({ ok: true } as const) : checkTopic(topic, false);
    if (!check.ok) {
      sendError(reply, check.reason === 'reserved' ? ErrorCode.ReservedTopic : ErrorCode.InvalidTopic, `invalid topic name (${check.reason})`);
      return undefined;
    }
    const who = identity(request);
    if (!allows(who.permissions, action, topic)) {
      metrics.requestErrors.inc({ type: 'http', code: String(ErrorCode.Forbidden) });
      metrics.authFailures.inc({ via: 'http', reason: 'forbidden' });
      const verb = action === 'publish' ? 'publish to' : action === 'presence' ? 'see the presence of' : 'read';
      sendError(reply, ErrorCode.Forbidden, `not allowed to ${verb} ${topic.slice(0, 64)}`);
      return undefined;
    }
    return who;
  };
  return { authenticate, rateOnly, identity, permitted };
}
