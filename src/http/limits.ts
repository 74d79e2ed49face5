import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RateLimitedError } from '../core/errors.js';
import { RateLimiter } from '../core/rate-limit.js';
import type { AppContext } from '../services/context.js';
import type { Principal } from './auth.js';

/**
 * Request-rate limits of the project API and the platform webhooks, in one place (docs/DEPLOY.md
 * "Limits"). In memory per node (core/rate-limit.ts): with N nodes the effective limit is N times
 * looser, which is fine for what they are for — stopping a runaway script or a forged flood
 * before it does any database work — not for metering.
 *
 * Login and the widget keep their own limiters (routes/auth.ts, routes/widget.ts).
 */

/**
 * Project API (defineRoute, every authenticated route): per API token and per signed-in user.
 * 6,000/min (100/s sustained): far above a person in the web app or a well-behaved integration
 * (and the log benchmark's ~3,000 requests through one token), yet a loop gone wrong is stopped.
 */
export const API_LIMIT = { max: 6000, windowMs: 60_000 } as const;

/**
 * Platform webhooks: per client IP and channel, checked before the channel is even looked up.
 * Platforms deliver from a few addresses, so the limit is sized for one IP carrying a whole
 * busy channel: 180,000/min (3,000/s sustained) is above the inbound benchmark's 2,000/s from one
 * address and far above any real bot, yet cuts off a loop or forged flood within a minute.
 */
export const WEBHOOK_LIMIT = { max: 180_000, windowMs: 60_000 } as const;

export interface Limiters {
  api: RateLimiter;
  webhook: RateLimiter;
}

const perApp = new WeakMap<AppContext, Limiters>();

/** The limiters of one app instance (each test app gets fresh ones). */
export function limitersOf(app: AppContext): Limiters {
  let l = perApp.get(app);
  if (!l) {
    l = {
      api: new RateLimiter(API_LIMIT.max, API_LIMIT.windowMs, app.clock),
      webhook: new RateLimiter(WEBHOOK_LIMIT.max, WEBHOOK_LIMIT.windowMs, app.clock),
    };
    perApp.set(app, l);
  }
  return l;
}

export function apiKey(principal: Principal): string {
  return principal.kind === 'token' ? `token:${principal.tokenId}` : `user:${principal.user.id}`;
}

export function webhookKey(ip: string, platform: string, channelId: string): string {
  return `${platform}:${channelId}:${ip}`;
}

/** Counts one API request of the principal; throws RateLimitedError (429 + Retry-After) over the limit. */
export function limitApi(app: AppContext, principal: Principal): void {
  const wait = limitersOf(app).api.hit(apiKey(principal));
  if (wait > 0) throw new RateLimitedError(wait);
}

function webhookKeyOf(req: FastifyRequest, platform: string): string {
  const channelId = String((req.params as { channelId?: unknown } | undefined)?.channelId ?? '');
  return webhookKey(req.ip, platform, channelId);
}

/**
 * Installs the per-IP webhook limit on a webhook scope: an onRequest hook, so an over-limit
 * request is refused before its body is read or the database touched.
 */
export function limitWebhooks(scope: FastifyInstance, app: AppContext, platform: string): void {
  scope.addHook('onRequest', async (req) => {
    const wait = limitersOf(app).webhook.hit(webhookKeyOf(req, platform));
    if (wait > 0) throw new RateLimitedError(wait);
  });
}
