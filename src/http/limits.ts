import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RateLimitedError, UnauthenticatedError } from '../core/errors.js';
import { RateLimiter } from '../core/rate-limit.js';
import type { AppContext } from '../services/context.js';
import { webhookChannelMissing } from '../services/receive-inbound.js';
import { authenticate, type Principal, SESSION_COOKIE } from './auth.js';

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

/**
 * Refused credentials per client IP (a wrong, revoked or expired token or session on the API or the
 * stream): 300/min. A browser whose session ran out fails a handful of requests before it shows the
 * sign-in page; a script trying tokens is stopped, and so is a flood of bad tokens costing a lookup
 * each. Once over, even good credentials from that address wait (429) until the window ends, so the
 * limit cannot be used to test guesses for free.
 */
export const AUTH_FAILURE_LIMIT = { max: 300, windowMs: 60_000 } as const;

/**
 * Refused webhooks per client IP, whatever the channel (a forged signature, an unknown or switched-off
 * channel: 401, 403, 404): 600/min. A platform's own deliveries are never refused unless the channel
 * is misconfigured, and the per-channel limit above cannot stop a sender that rotates channel ids,
 * each costing a lookup.
 */
export const WEBHOOK_REFUSAL_LIMIT = { max: 600, windowMs: 60_000 } as const;

export interface Limiters {
  api: RateLimiter;
  webhook: RateLimiter;
  authFailures: RateLimiter;
  webhookRefusals: RateLimiter;
}

const perApp = new WeakMap<AppContext, Limiters>();

/** The limiters of one app instance (each test app gets fresh ones). */
export function limitersOf(app: AppContext): Limiters {
  let l = perApp.get(app);
  if (!l) {
    l = {
      api: new RateLimiter(API_LIMIT.max, API_LIMIT.windowMs, app.clock),
      webhook: new RateLimiter(WEBHOOK_LIMIT.max, WEBHOOK_LIMIT.windowMs, app.clock),
      authFailures: new RateLimiter(AUTH_FAILURE_LIMIT.max, AUTH_FAILURE_LIMIT.windowMs, app.clock),
      webhookRefusals: new RateLimiter(WEBHOOK_REFUSAL_LIMIT.max, WEBHOOK_REFUSAL_LIMIT.windowMs, app.clock),
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
 * The address a per-IP limit counts: IPv4 as is, IPv6 by its /64 (one subscriber's network, which
 * hands out addresses freely; counting each would let one sender rotate past any limit).
 */
export function addressKey(ip: string): string {
  if (!ip.includes(':') || ip.startsWith('::ffff:')) return ip.replace(/^::ffff:/, '');
  const [head = '', tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Installs the per-IP webhook limits on a webhook scope (onRequest: an over-limit request is refused
 * before its body is read or the database touched). The refusals limit counts a request first and
 * takes it back once it turns out not to be refused, so a burst of concurrent forgeries cannot all
 * slip past the check. It counts per platform and address, and only what is a guess: a bad signature
 * (401/403), or a channel id that names no channel at all — never a switched-off channel that a
 * platform keeps delivering to, which would hold up that platform's other channels.
 */
export function limitWebhooks(scope: FastifyInstance, app: AppContext, platform: string): void {
  const refusalKey = (req: FastifyRequest) => `${platform}:${addressKey(req.ip)}`;
  scope.addHook('onRequest', async (req) => {
    const limiters = limitersOf(app);
    const refused = limiters.webhookRefusals.hit(refusalKey(req));
    if (refused > 0) throw new RateLimitedError(refused);
    const wait = limiters.webhook.hit(webhookKeyOf(req, platform));
    if (wait > 0) throw new RateLimitedError(wait);
  });
  scope.addHook('onResponse', async (req, reply) => {
    const status = reply.statusCode;
    const channelId = Number((req.params as { channelId?: unknown } | undefined)?.channelId);
    const guess =
      status === 401 ||
      status === 403 ||
      status === 429 ||
      (status === 404 && (!Number.isSafeInteger(channelId) || webhookChannelMissing(app, channelId)));
    if (!guess) limitersOf(app).webhookRefusals.undo(refusalKey(req));
  });
}

/**
 * `authenticate` behind the per-IP limit of refused credentials (AUTH_FAILURE_LIMIT). Only requests
 * that present credentials count (one with none costs no lookup and guesses nothing; the web app asks
 * who is signed in before anyone is). Each is counted before its lookup and taken back when the
 * credentials hold, so concurrent guesses cannot all slip past the check; an address over the limit
 * gets 429 before any lookup.
 */
export async function authenticateLimited(app: AppContext, req: FastifyRequest): Promise<Principal> {
  const presented = req.headers.authorization !== undefined || req.headers.cookie?.includes(`${SESSION_COOKIE}=`);
  if (!presented) return authenticate(app, req);
  const failures = limitersOf(app).authFailures;
  const key = addressKey(req.ip);
  const wait = failures.hit(key);
  if (wait > 0) throw new RateLimitedError(wait);
  try {
    const principal = await authenticate(app, req);
    failures.undo(key);
    return principal;
  } catch (err) {
    if (!(err instanceof UnauthenticatedError)) failures.undo(key);
    throw err;
  }
}
