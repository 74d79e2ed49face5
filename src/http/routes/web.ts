import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import type { RouteModule } from '../app.js';

/**
 * The web app (issue 4), built by Vite into web/dist: hashed files under /assets/ cached for a
 * year (immutable), index.html for every app path (`/`, `/p/...`) never cached, so a new release
 * is picked up on the next navigation. The HTML carries a strict Content-Security-Policy: scripts
 * only from this origin, no eval, no inline script; WebSocket back to this origin only.
 */

const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web/dist');

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Mantine sets CSS variables in style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "worker-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Dziennik</title>
<p>The web app is not built yet: run <code>npm run build</code> (or <code>npm start</code>, which builds it).</p>`;

export const webRoutes: RouteModule = ({ fastify }) => {
  const dir = WEB_DIST;
  fastify.register(fastifyStatic, {
    root: path.join(dir, 'assets'),
    prefix: '/assets/',
    index: false,
    cacheControl: false,
    setHeaders: (res) => res.setHeader('cache-control', 'public, max-age=31536000, immutable'),
  });

  const sendIndex = async (reply: FastifyReply) => {
    let html: string;
    try {
      html = await fs.promises.readFile(path.join(dir, 'index.html'), 'utf8');
    } catch {
      html = NOT_BUILT;
    }
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-frame-options', 'DENY')
      .send(html);
  };
  for (const url of ['/', '/login', '/p', '/p/*', '/invite/*']) {
    fastify.get(url, (_req, reply) => sendIndex(reply));
  }
  for (const [file, type] of [
    ['favicon.svg', 'image/svg+xml'],
    ['manifest.webmanifest', 'application/manifest+json'],
    ['sw.js', 'text/javascript; charset=utf-8'],
  ] as const) {
    fastify.get(`/${file}`, async (_req, reply) => {
      try {
        const body = await fs.promises.readFile(path.join(dir, file));
        return reply.header('content-type', type).header('cache-control', 'no-cache').send(body);
      } catch {
        return reply.callNotFound();
      }
    });
  }
};
