/**
 * What a client's requests do once they are parsed and allowed past the
 * connection's limits: subscribe, unsubscribe, publish (answered as the
 * connection's protocol says) and refresh a token. The gateway (gateway.ts)
 * owns sockets, frames and sessions; this file owns the requests.
 */
import { ErrorCode, encodePublishReply, type ClientRequest, type DataBytes, type PublishMessage } from '../../client/protocol/index.js';
import type { ApplyResult, Topics } from '../topics/index.js';
import { adminTopic, type Authenticator, type Verified } from '../auth/index.js';
import type { BrokerMetrics } from './metrics.js';
import type { Session } from './session.js';
import { armIdentity, refreshRefusal, refusalOf, type Refusal } from './session-auth.js';
import { errorMessage } from './sockets.js';

export interface RequestOptions {
  topics: Topics;
  metrics: BrokerMetrics;
  auth: Authenticator;
  /** Whether the broker takes publishes now (false while draining or outside a primary view). */
  isAccepting: () => boolean;
}

export class RequestHandler {
  constructor(private readonly options: RequestOptions) {}

  /** Anonymous mode grants everything but the admin topic `$sys` (the API key's): no check on the publish path then. */
  private refusal(session: Session, request: ClientRequest): Refusal | undefined {
    return this.options.auth.required || (request.type === 'sub' && request.topic === adminTopic) ? refusalOf(session.identity, request) : undefined;
  }

  handle(session: Session, request: ClientRequest, data: DataBytes | undefined): void {
    const { topics, metrics } = this.options;
    const refused = this.refusal(session, request);
    if (refused !== undefined) return this.sendError(session, request.type as 'sub' | 'pub', request.id, refused.code, refused.message);
    switch (request.type) {
      case 'sub':
        topics.subscribe(session, request, (outcome) => {
          if (!outcome.ok) return this.sendError(session, 'sub', request.id, outcome.code, outcome.message);
          // A subscribe may have waited (the mesh loading its topic) while a refresh narrowed the
          // token: what is allowed is decided now.
          const now = this.refusal(session, request);
          if (now !== undefined) {
            topics.unsubscribe(session, request.topic);
            return this.sendError(session, 'sub', request.id, now.code, now.message);
          }
          // v2: the subscription id the deliveries carry (the same for every subscriber of the topic here).
          const sid = session.version >= 2 ? topics.index.sidOf(request.topic) : undefined;
          session.send(sid === undefined ? { type: 'reply', id: request.id, ...outcome.reply } : { type: 'reply', id: request.id, ...outcome.reply, sid });
          for (const entry of outcome.replay) session.deliverMessage(entry, sid);
        });
        return;
      case 'unsub': {
        // Events held for it by conflation go with it (a later subscribe here may get the same sid).
        const sid = topics.index.sidOf(request.topic);
        if (sid !== undefined) session.forgetConflated(sid);
        if (topics.unsubscribe(session, request.topic)) session.send({ type: 'reply', id: request.id });
        else this.sendError(session, 'unsub', request.id, ErrorCode.NotSubscribed, `not subscribed to ${request.topic.slice(0, 64)}`);
        return;
      }
      case 'pub':
        return this.publish(session, request, data);
      case 'refresh':
        return this.refresh(session, request.id, request.token);
      default: {
        const never: never = request;
        throw new Error(`unhandled request ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * A publish, answered as its connection's protocol says: v1 with a reply each; v2 with `acks`
   * gathered per turn (publish-acks.ts), or — sent without an id — only if it fails.
   */
  private publish(session: Session, request: PublishMessage, encoded: DataBytes | undefined): void {
    const { metrics } = this.options;
    const id = request.id;
    const v2 = session.version >= 2;
    // v2: a publish's place among the connection's acknowledged ones (its answer waits for those before it).
    const ticket = v2 && id !== undefined ? session.acks.sent(id) : -1;
    const answer = (result: ApplyResult): void => {
      if (!result.ok) {
        metrics.requestErrors.inc({ type: 'pub', code: String(result.code) });
        if (!v2) return session.send(errorMessage(id, result.code, result.message));
        if (id === undefined) return session.send({ type: 'error', code: result.code, message: result.message, topic: request.topic.slice(0, 255) });
        return session.acks.answered(ticket, result);
      }
      if (result.dup !== true) metrics.wsPublishes.inc();
      if (!v2) return session.deliver(encodePublishReply(id!, result.seq, result.dup === true));
      if (id !== undefined) session.acks.answered(ticket, result);
    };
    if (!this.options.isAccepting()) return answer({ ok: false, code: ErrorCode.NotReady, message: 'this broker is not taking publishes now; publish through another broker' });
    this.options.topics.publish({ topic: request.topic, kind: request.kind, data: request.data, encoded, client: session.client, pid: request.pid }, answer);
  }

  /** A new token for a connection: same subject, every subscription still allowed. One at a time. */
  private refresh(session: Session, id: number, token: string): void {
    if (session.refreshing) return this.sendError(session, 'refresh', id, ErrorCode.TooManyRequests, 'a refresh is already being verified');
    session.refreshing = true;
    void this.options.auth.client(token).catch((): Verified => ({ ok: false, message: 'the token could not be verified', reason: 'signature' })).then((verified) => {
      session.refreshing = false;
      if (session.isClosed) return;
      if (!verified.ok) {
        this.options.metrics.authFailures.inc({ via: 'ws', reason: verified.reason });
        return this.sendError(session, 'refresh', id, ErrorCode.Unauthorized, verified.message);
      }
      const refused = refreshRefusal(session.identity, verified.identity, this.options.topics.index.subscriptionsOf(session));
      if (refused !== undefined) return this.sendError(session, 'refresh', id, refused.code, refused.message);
      armIdentity(session, verified.identity, this.options.auth.options.tokenGraceMs);
      session.send({ type: 'reply', id });
    });
  }

  /** Answers with a typed error, and counts it. */
  sendError(session: Session, type: 'sub' | 'unsub' | 'pub' | 'refresh' | 'hello' | 'invalid', id: number | undefined, code: number, message: string): void {
    this.options.metrics.requestErrors.inc({ type, code: String(code) });
    if (code === ErrorCode.Forbidden) this.options.metrics.authFailures.inc({ via: 'ws', reason: 'forbidden' });
    session.send(errorMessage(id, code, message));
  }
}
