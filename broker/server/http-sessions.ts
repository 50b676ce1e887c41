/**
 * The HTTP API's session control: an operator disconnects a client from this broker by its public
 * client id (`welcome.client`, the `client` of its presence entries and messages) — every session
 * it has here, or the one named by `session`. The client sees the close code — 4506 Kicked (do
 * not reconnect) or, with `reconnect=true`, 4009 Disconnected — and the reason.
 */
import type { FastifyInstance } from 'fastify';
import { CloseCode, ErrorCode } from '../../client/protocol/index.js';
import { errors, sendError, type ApiGuards } from './http-common.js';

export interface SessionControl {
  disconnect(client: string, sessionId: string | undefined, code: number, reason: string): Array<{ session: string; client: string }>;
}

const sessionParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 512, description: "The client's public id: `welcome.client`, the `client` of its presence entries (with authentication `<sub>|<client>`, the `|` percent-encoded)" },
  },
} as const;

const disconnectQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    session: { type: 'string', minLength: 1, maxLength: 200, description: 'Only this session of the client (a presence key; in a mesh `<broker>/<id>`); default: all its sessions on this broker' },
    reason: { type: 'string', pattern: '^[\\x20-\\x7E]{0,120}$', description: 'The close reason the client sees (printable ASCII, at most 120 characters)' },
    reconnect: { type: 'string', enum: ['true', 'false'], default: 'false', description: 'true: close with 4009 Disconnected (the client reconnects); false: 4506 Kicked (it does not)' },
  },
} as const;

const disconnectResponse = {
  description: 'Closed: the sessions, the close code and the reason sent',
  type: 'object',
  required: ['client', 'sessions', 'code', 'reason'],
  properties: {
    client: { type: 'string' },
    sessions: { type: 'array', items: { type: 'string' }, description: 'The session ids closed' },
    code: { type: 'integer', description: 'The close code sent' },
    reason: { type: 'string' },
  },
} as const;

/** `prefix`: the start of this broker's session ids (in a mesh `<broker>/`; '' on one broker). */
export function registerSessionRoutes(app: FastifyInstance, sessions: SessionControl, guards: ApiGuards, prefix: () => string): void {
  app.delete<{ Params: { id: string }; Querystring: { session?: string; reason?: string; reconnect: 'true' | 'false' } }>(
    '/api/v1/sessions/:id',
    {
      onRequest: guards.authenticate,
      schema: {
        tags: ['sessions'],
        summary: "Disconnect a client's sessions on this broker",
        description:
          'Closes every session of the client with this public id on this broker (or only `session`) with close code 4506 Kicked — the client does not reconnect by itself — or, with `reconnect=true`, 4009 Disconnected — it reconnects and resumes — and the reason given. Only the API key (or anonymous mode) may do this; a token is refused (403). 404 (error 206) when no such session is on this broker: other brokers of a mesh are not asked.',
        params: sessionParams,
        querystring: disconnectQuery,
        response: { 200: disconnectResponse, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      if (guards.identity(request).credential === 'token') return sendError(reply, ErrorCode.Forbidden, 'disconnecting sessions takes the API key; a token does not allow it');
      const { id } = request.params;
      const { session, reconnect } = request.query;
      const code = reconnect === 'true' ? CloseCode.Disconnected : CloseCode.Kicked;
      const reason = request.query.reason ?? 'disconnected by an operator';
      const closed = sessions.disconnect(id, session, code, reason);
      if (closed.length === 0) {
        // In a mesh a session id begins with its broker's id: say where that one is.
        const own = prefix();
        const slash = session?.lastIndexOf('/') ?? -1;
        const elsewhere = session !== undefined && own !== '' && slash > 0 && !session.startsWith(own) ? ` (session ${session.slice(0, 100)} is at broker ${session.slice(0, Math.min(slash, 64))})` : '';
        const which = session === undefined ? '' : ` with session ${session.slice(0, 100)}`;
        return sendError(reply, ErrorCode.UnknownSession, `no client ${id.slice(0, 100)}${which} on this broker${elsewhere}`);
      }
      return reply.send({ client: id, sessions: closed.map((c) => c.session), code, reason });
    },
  );
}
