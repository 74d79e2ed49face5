import { sql } from 'kysely';
import { z } from 'zod';
import { AppError, ErrorCodes } from '../../core/errors.js';
import type { RouteModule } from '../app.js';

export const healthRoutes: RouteModule = ({ fastify, app, route, registry, metrics, openapi }) => {
  route({
    method: 'GET',
    url: '/healthz',
    summary: 'Liveness: the process is up',
    tags: ['operations'],
    auth: 'none',
    response: z.object({ status: z.literal('ok') }),
    handler: async () => ({ status: 'ok' as const }),
  });
  route({
    method: 'GET',
    url: '/readyz',
    summary: 'Readiness: the store answers',
    tags: ['operations'],
    auth: 'none',
    response: z.object({ status: z.literal('ready'), store: z.enum(['sqlite', 'postgres']) }),
    handler: async () => {
      try {
        await sql`SELECT 1`.execute(app.store.db);
      } catch {
        throw new AppError(ErrorCodes.UNAVAILABLE, 'The database does not answer');
      }
      return { status: 'ready' as const, store: app.store.dialect };
    },
  });
  fastify.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.contentType);
    return metrics.metrics();
  });
  registry.push({
    method: 'GET',
    url: '/metrics',
    summary: 'Prometheus metrics',
    tags: ['operations'],
    auth: 'none',
    produces: 'text/plain',
  });
  fastify.get('/api/openapi.json', async () => openapi());
  registry.push({
    method: 'GET',
    url: '/api/openapi.json',
    summary: 'This OpenAPI document',
    tags: ['operations'],
    auth: 'none',
  });
};
