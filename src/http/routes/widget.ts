import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ForbiddenError, RateLimitedError } from '../../core/errors.js';
import { RateLimiter } from '../../core/rate-limit.js';
import {
  CallbackInput,
  CallbackResultSchema,
  findWidgetProject,
  originAllowed,
  recordVisit,
  requestCallback,
  VisitInput,
  VisitResultSchema,
  type WidgetProject,
  WidgetConfigSchema,
  widgetConfig,
} from '../../services/widget.js';
import type { RouteModule } from '../app.js';
import { defineRoute } from '../route.js';

/**
 * The website widget (issue 5): `/widget.js` (built by scripts/build-widget.mjs into widget/dist)
 * and its public API under /api/v1/widget/{publicKey}/. Public, so guarded otherwise: CORS only
 * for the project's allowed origins (a request carrying any other Origin is refused, not just left
 * unreadable), per-IP rate limits, a 16 KB body limit and field length limits; an unknown key or a
 * switched-off widget is a 404.
 */

const WIDGET_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../widget/dist/widget.js');
const BODY_LIMIT = 16 * 1024;

const Params = z.strictObject({ publicKey: z.string().min(1).max(100) });

/** Per client IP, per window: generous for offices behind one address, tight for callbacks (each makes a dialog). */
const LIMITS = {
  config: [300, 10 * 60_000],
  visits: [60, 10 * 60_000],
  callbacks: [5, 60 * 60_000],
} as const;

export const widgetRoutes: RouteModule = ({ fastify, app, registry }) => {
  let cached: { mtimeMs: number; body: Buffer; etag: string } | undefined;
  fastify.get('/widget.js', async (req, reply) => {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(WIDGET_FILE);
    } catch {
      return reply.callNotFound();
    }
    if (!cached || cached.mtimeMs !== stat.mtimeMs) {
      const body = await fs.promises.readFile(WIDGET_FILE);
      cached = {
        mtimeMs: stat.mtimeMs,
        body,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      };
    }
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      // Not a versioned URL (it is pasted into websites): a day of cache, then a cheap revalidation.
      .header('cache-control', 'public, max-age=86400, stale-while-revalidate=604800')
      .header('etag', cached.etag)
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('access-control-allow-origin', '*');
    if (req.headers['if-none-match'] === cached.etag) return reply.code(304).send();
    return reply.send(cached.body);
  });

  const limiters = Object.fromEntries(
    Object.entries(LIMITS).map(([k, [max, windowMs]]) => [k, new RateLimiter(max, windowMs, app.clock)]),
  ) as Record<keyof typeof LIMITS, RateLimiter>;
  const projects = new WeakMap<FastifyRequest, WidgetProject>();
  const projectOf = (req: FastifyRequest) => projects.get(req)!;

  fastify.register(async (scope) => {
    scope.addHook('onRoute', (opts) => {
      opts.bodyLimit = BODY_LIMIT;
    });
    scope.addHook('onRequest', async (req, reply) => {
      const kind = (req.url.split('?')[0] ?? '').split('/').pop() as keyof typeof LIMITS;
      if (req.method !== 'OPTIONS' && limiters[kind]) {
        const wait = limiters[kind].hit(req.ip);
        if (wait) throw new RateLimitedError(wait);
      }
      const { publicKey } = req.params as { publicKey?: string };
      const project = await findWidgetProject(app, String(publicKey ?? ''));
      projects.set(req, project);
      const origin = req.headers.origin;
      if (origin !== undefined) {
        if (!originAllowed(project, origin)) {
          throw new ForbiddenError(`The website ${origin.slice(0, 200)} is not allowed to use this widget`);
        }
        reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
      }
      if (req.method === 'OPTIONS') {
        return reply
          .code(204)
          .header('access-control-allow-methods', 'GET, POST')
          .header('access-control-allow-headers', 'content-type')
          .header('access-control-max-age', '600')
          .send();
      }
    });
    scope.options('/api/v1/widget/:publicKey/:resource', async (_req, reply) => reply.code(204).send());

    const route: typeof defineRoute = (_f, _a, _r, def) => defineRoute(scope, app, registry, def);
    route(scope, app, registry, {
      method: 'GET',
      url: '/api/v1/widget/:publicKey/config',
      summary: 'The widget of a website: its messengers with links, the callback form, its look',
      tags: ['widget'],
      auth: 'none',
      params: Params,
      response: WidgetConfigSchema,
      handler: async ({ req }) => widgetConfig(app, projectOf(req)),
    });
    route(scope, app, registry, {
      method: 'POST',
      url: '/api/v1/widget/:publicKey/visits',
      summary: 'Record a website visit; answers its token and the messenger links that carry it',
      tags: ['widget'],
      auth: 'none',
      params: Params,
      body: VisitInput,
      response: VisitResultSchema,
      status: 201,
      handler: async ({ req, body }) => recordVisit(app, projectOf(req), body),
    });
    route(scope, app, registry, {
      method: 'POST',
      url: '/api/v1/widget/:publicKey/callbacks',
      summary: 'A visitor asks to be called back: a new SMS dialog in the workspace queue',
      tags: ['widget'],
      auth: 'none',
      params: Params,
      body: CallbackInput,
      response: CallbackResultSchema,
      status: 201,
      handler: async ({ req, body }) => requestCallback(app, projectOf(req), body),
    });
  });
};
