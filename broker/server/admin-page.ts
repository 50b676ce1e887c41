/**
 * The admin page (docs/admin.md): `/` serves `admin/index.html` and `/admin/<file>` its scripts and
 * styles — plain files read once at start from `admin/` of the checkout or image (none: `/` says
 * so). The page holds no data: it asks the HTTP API and follows `$sys` over the WebSocket, both
 * with the operator's credential, so serving it needs none.
 *
 * Every answer carries a strict Content-Security-Policy: scripts and styles from this origin only
 * (no inline script, no eval), connections to this origin only (its HTTP API and /ws), no frames,
 * no form posts, no base URL; with nosniff and no referrer.
 */
import { plainFiles, type PlainFiles } from './plain-files.js';
import type { FastifyInstance, FastifyReply } from 'fastify';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export const adminCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function secured(reply: FastifyReply, type: string): FastifyReply {
  return reply
    .type(type)
    .header('content-security-policy', adminCsp)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-cache');
}

export async function registerAdminPage(app: FastifyInstance): Promise<void> {
  const files = await adminFiles();
  const index = files.get('index.html');
  // Out of the OpenAPI document: these are pages, not the API.
  const schema = { hide: true };
  app.get('/', { schema }, (_request, reply) => {
    if (index === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('no admin page in this build (the admin/ folder is missing)');
    return secured(reply, index.type).send(index.bytes);
  });
  app.get('/admin', { schema }, (_request, reply) => reply.redirect('/'));
  app.get('/admin/', { schema }, (_request, reply) => reply.redirect('/'));
  app.get<{ Params: { file: string } }>('/admin/:file', { schema }, (request, reply) => {
    const found = files.get(request.params.file);
    if (found === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('no such file');
    return secured(reply, found.type).send(found.bytes);
  });
}

/** The plain files of `admin/` by name (plain-files.ts). */
function adminFiles(): Promise<PlainFiles> {
  return plainFiles(['../../admin/', '../../../admin/'], import.meta.url, contentTypes);
}
