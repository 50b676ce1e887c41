/**
 * What the broker serves besides its API: the browser client bundle at `/client.js`, the admin
 * page at `/` (admin-page.ts), and the examples at `/examples/<name>/` (plain files read once at
 * start, from `examples/` of the checkout or image; none when the folder is absent). All are
 * public code, readable by anyone who may load a page; cross-origin reads follow the `origins`
 * setting (CORS, index.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { registerAdminPage } from './admin-page.js';
import { plainFiles, type PlainFiles } from './plain-files.js';


/** Example folders served, and the files of each (a browser page only: no server-side code is read here). */
const examples = ['game-room'];

export async function registerStaticFiles(app: FastifyInstance): Promise<void> {
  const bundle = await firstReadable(['../../browser/chorus-client.js', '../../dist/browser/chorus-client.js'], 'utf8');
  app.get('/client.js', (_request, reply) => {
    if (bundle === undefined) return reply.code(404).send('client bundle not built: run npm run build');
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(bundle);
  });
  await registerAdminPage(app);
  for (const name of examples) {
    const files = await exampleFiles(name);
    if (files.size === 0) continue;
    app.get(`/examples/${name}`, (_request, reply) => reply.redirect(`/examples/${name}/`));
    app.get(`/examples/${name}/*`, (request, reply) => {
      const file = (request.params as { '*': string })['*'] || 'index.html';
      const found = files.get(file);
      if (found === undefined) return reply.code(404).send({ code: 404, error: 'Not Found', message: `no file ${file} in this example` });
      return reply.type(found.type).header('cache-control', 'no-cache').send(found.bytes);
    });
  }
}

/** The files of `examples/<name>/public/`, by name (plain-files.ts). */
function exampleFiles(name: string): Promise<PlainFiles> {
  return plainFiles([`../../examples/${name}/public/`, `../../../examples/${name}/public/`], import.meta.url);
}

async function firstReadable(candidates: string[], encoding: 'utf8'): Promise<string | undefined> {
  for (const candidate of candidates) {
    try {
      return await readFile(new URL(candidate, import.meta.url), encoding);
    } catch {
      // try the next place
    }
  }
  return undefined;
}
