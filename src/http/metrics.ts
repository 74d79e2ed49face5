import type { FastifyInstance } from 'fastify';
import client from 'prom-client';
import type { AppContext } from '../services/context.js';
import type { SendAttempt } from '../services/outbox-worker.js';

/**
 * Prometheus metrics: process defaults, request counts and durations per route, the outbox's
 * depth and age (read on scrape), webhook rates and latencies per platform, WebSocket clients.
 */
export function installMetrics(app: FastifyInstance, ctx?: AppContext) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'dziennik_' });
  const duration = new client.Histogram({
    name: 'dziennik_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    duration.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  if (ctx) installOutboxGauges(registry, ctx);
  return registry;
}

/**
 * `dziennik_outbox_pending` and `dziennik_outbox_oldest_pending_age_seconds`, each one query on
 * scrape over the pending rows (outbox_due leads with status). A failed query leaves the gauge
 * unset for that scrape rather than failing /metrics.
 */
function installOutboxGauges(registry: client.Registry, ctx: AppContext) {
  pendingGauge(registry, ctx, 'outbox', 'dziennik_outbox_pending', 'Outbox rows waiting to be sent (status pending)');
  pendingGauge(
    registry,
    ctx,
    'webhook_deliveries',
    'dziennik_webhook_deliveries_pending',
    'Outgoing webhook deliveries waiting to be sent (status pending)',
  );
  new client.Gauge({
    name: 'dziennik_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest pending outbox row in seconds (0 when none is pending)',
    registers: [registry],
    async collect() {
      try {
        const r = await ctx.store.db
          .selectFrom('outbox')
          .select((eb) => eb.fn.min<number | string | bigint | null>('created_at').as('oldest'))
          .where('status', '=', 'pending')
          .executeTakeFirst();
        const oldest = r?.oldest == null ? null : Number(r.oldest);
        this.set(oldest == null ? 0 : Math.max(0, (ctx.clock() - oldest) / 1000));
      } catch (err) {
        ctx.log.warn({ err }, 'metrics: outbox age query failed');
      }
    },
  });
}

/** A gauge of a table's pending rows, one count on scrape (both tables index their pending rows). */
function pendingGauge(
  registry: client.Registry,
  ctx: AppContext,
  table: 'outbox' | 'webhook_deliveries',
  name: string,
  help: string,
) {
  new client.Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      try {
        const r = await ctx.store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
          .where('status', '=', 'pending')
          .executeTakeFirst();
        this.set(Number(r?.n ?? 0));
      } catch (err) {
        ctx.log.warn({ err, table }, 'metrics: pending count query failed');
      }
    },
  });
}

interface WebhookMetrics {
  requests: client.Counter<'platform' | 'outcome'>;
  duration: client.Histogram<'platform'>;
}
const webhookMetrics = new WeakMap<client.Registry, WebhookMetrics>();

function webhookMetricsOf(registry: client.Registry): WebhookMetrics {
  let m = webhookMetrics.get(registry);
  if (!m) {
    m = {
      requests: new client.Counter({
        name: 'dziennik_webhook_requests_total',
        help: 'Platform webhook requests by platform and outcome',
        labelNames: ['platform', 'outcome'],
        registers: [registry],
      }),
      duration: new client.Histogram({
        name: 'dziennik_webhook_duration_seconds',
        help: 'Platform webhook handling time by platform',
        labelNames: ['platform'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
        registers: [registry],
      }),
    };
    webhookMetrics.set(registry, m);
  }
  return m;
}

/** The outcome label of a webhook answer: accepted, or why not. */
export function webhookOutcome(status: number): string {
  if (status >= 200 && status < 300) return 'accepted';
  switch (status) {
    case 400:
      return 'invalid';
    case 401:
    case 403:
      return 'unauthenticated';
    case 404:
      return 'unknown_channel';
    case 413:
      return 'too_large';
    case 429:
      return 'rate_limited';
    default:
      return status >= 500 ? 'error' : 'other';
  }
}

/** Counts and times every request of a webhook scope (one line in each webhook file). */
export function observeWebhooks(scope: FastifyInstance, registry: client.Registry, platform: string): void {
  const m = webhookMetricsOf(registry);
  scope.addHook('onResponse', async (_req, reply) => {
    m.requests.inc({ platform, outcome: webhookOutcome(reply.statusCode) });
    m.duration.observe({ platform }, reply.elapsedTime / 1000);
  });
}

/** `dziennik_websocket_clients`: the hub's connected sockets, read on scrape. */
export function observeWebSocketClients(registry: client.Registry, count: () => number): void {
  new client.Gauge({
    name: 'dziennik_websocket_clients',
    help: 'Connected realtime (WebSocket) clients on this node',
    registers: [registry],
    collect() {
      this.set(count());
    },
  });
}

/**
 * `dziennik_sends_total{platform,outcome}` and `dziennik_send_duration_seconds{platform}`: the outbox
 * worker's platform calls (sent, retry, failed) and how long each took. The function goes to the
 * worker's `observe` option.
 */
export function observeSends(registry: client.Registry): (attempt: SendAttempt) => void {
  const sends = new client.Counter({
    name: 'dziennik_sends_total',
    help: 'Outgoing messages handed to a platform, by platform and outcome (sent, retry, failed)',
    labelNames: ['platform', 'outcome'],
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'dziennik_send_duration_seconds',
    help: 'Time of one platform call sending a message, by platform',
    labelNames: ['platform'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return ({ platform, outcome, seconds }) => {
    sends.inc({ platform, outcome });
    duration.observe({ platform }, seconds);
  };
}
