import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type client from 'prom-client';
import type { z } from 'zod';
import type { Config } from '../config.js';
import { type AppContext, type Logger, makeAppContext } from '../services/context.js';
import type { EventBus } from '../realtime/bus.js';
import type { Store } from '../store/open.js';
import { installErrorHandlers } from './errors.js';
import { installMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { defineRoute, type RegisteredRoute, type RouteDef } from './route.js';
import { adminRoutes } from './routes/admin.js';
import { auditRoutes } from './routes/audit.js';
import { authRoutes } from './routes/auth.js';
import { channelRoutes } from './routes/channels.js';
import { dialogRoutes } from './routes/dialogs.js';
import { exportRoutes } from './routes/export.js';
import { healthRoutes } from './routes/health.js';
import { numberRoutes } from './routes/numbers.js';
import { streamRoutes } from './routes/stream.js';
import { tokenRoutes } from './routes/tokens.js';
import { analyticsRoutes } from './routes/analytics.js';
import { webhooksOutRoutes } from './routes/webhooks-out.js';
import { userRoutes } from './routes/users.js';
import { webRoutes } from './routes/web.js';
import { widgetRoutes } from './routes/widget.js';
import { messengerWebhookRoutes } from './webhooks/messenger.js';
import { smsWebhookRoutes } from './webhooks/sms.js';
import { telegramWebhookRoutes } from './webhooks/telegram.js';
import { viberWebhookRoutes } from './webhooks/viber.js';

export const VERSION = '0.1.0';

export interface RouteModuleArgs {
  fastify: FastifyInstance;
  app: AppContext;
  registry: RegisteredRoute[];
  metrics: client.Registry;
  openapi: () => unknown;
  route: <P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A extends 'none' | 'principal' | 'project'>(
    def: RouteDef<P, Q, B, A>,
  ) => void;
}
export type RouteModule = (args: RouteModuleArgs) => void;

/** Every resource's routes; a new resource adds one line here. */
const MODULES: RouteModule[] = [
  healthRoutes,
  authRoutes,
  dialogRoutes,
  exportRoutes,
  userRoutes,
  auditRoutes,
  channelRoutes,
  numberRoutes,
  adminRoutes,
  streamRoutes,
  analyticsRoutes,
  webhooksOutRoutes,
  tokenRoutes,
  telegramWebhookRoutes,
  viberWebhookRoutes,
  messengerWebhookRoutes,
  smsWebhookRoutes,
  widgetRoutes,
  webRoutes,
];

export interface BuildAppOptions {
  config: Config & { secretKey: string };
  store: Store;
  clock?: () => number;
  /** The event bus; an in-process one when not given. */
  bus?: EventBus;
  /** Logs as JSON lines at config.logLevel; tests pass false. */
  logger?: boolean;
}

export async function buildApp(opts: BuildAppOptions) {
  const { config, store } = opts;
  const fastify = Fastify({
    logger:
      opts.logger === false
        ? false
        : {
            level: config.logLevel,
            // Query strings stay out of the logs: they carry search text (personal data) and
            // Messenger's hub.verify_token.
            serializers: {
              req: (req: { method: string; url: string; ip?: string }) => ({
                method: req.method,
                url: req.url.split('?')[0],
                remoteAddress: req.ip,
              }),
            },
          },
    // A number of hops as proxy-addr's trust function: the i-th address from the socket's peer
    // backwards through X-Forwarded-For is a proxy while i < hops.
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (_addr: string, i: number) => i < (config.trustProxy as number)
        : config.trustProxy,
    bodyLimit: 1024 * 1024,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{8,100}$/.test(incoming) ? incoming : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
  });
  const log: Logger = fastify.log as unknown as Logger;
  const app: AppContext = makeAppContext({ store, config, bus: opts.bus, clock: opts.clock, log });
  installErrorHandlers(fastify);
  const metrics = installMetrics(fastify, app);
  fastify.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });
  const registry: RegisteredRoute[] = [];
  let openapiDoc: unknown;
  const openapi = () => {
    openapiDoc ??= buildOpenApi(registry, VERSION);
    return openapiDoc;
  };
  const route: RouteModuleArgs['route'] = (def) => defineRoute(fastify, app, registry, def);
  for (const m of MODULES) m({ fastify, app, registry, metrics, openapi, route });
  await fastify.ready();
  return { fastify, app, registry, metrics };
}
