import { z } from 'zod';
import { parse, verify } from '../../channels/telegram/inbound.js';
import { invalid, NotFoundError, UnauthenticatedError } from '../../core/errors.js';
import { findWebhookChannel, receiveInbound } from '../../services/receive-inbound.js';
import type { RouteModule } from '../app.js';
import { channelIdOf, rawBody, rawBodyScope, WEBHOOK_BODY_LIMIT } from './raw-body.js';
import { limitWebhooks } from '../limits.js';
import { observeWebhooks } from '../metrics.js';

/**
 * `POST /webhooks/telegram/{channelId}` (SPEC §7): Telegram posts each Update here with the
 * secret token we gave setWebhook. Order: the channel (404), the secret (401), the body (400),
 * stored, then 200. Update types we do not handle get 200 too, so Telegram does not retry them;
 * only our own failure answers 500, so it does.
 *
 * A wrong or missing secret answers 401 (not 403), like the Viber and Messenger webhooks: the
 * request did not prove who sent it.
 */

const Params = z.object({ channelId: z.coerce.number().int().positive().describe('The channel the webhook is for') });

export const telegramWebhookRoutes: RouteModule = ({ fastify, app, registry, metrics }) => {
  registry.push({
    method: 'POST',
    url: '/webhooks/telegram/:channelId',
    summary: 'Telegram Bot API webhook (X-Telegram-Bot-Api-Secret-Token); 401 without the secret',
    tags: ['webhooks'],
    auth: 'none',
    params: Params,
  });
  rawBodyScope(fastify, (scope) => {
    observeWebhooks(scope, metrics, 'telegram');
    limitWebhooks(scope, app, 'telegram');
    scope.post('/webhooks/telegram/:channelId', { bodyLimit: WEBHOOK_BODY_LIMIT }, async (req, reply) => {
      const channelId = channelIdOf(req);
      const found = await findWebhookChannel(app, channelId, 'telegram');
      if (!found) {
        req.log.warn({ channelId }, 'telegram webhook for an unknown or removed channel');
        throw new NotFoundError('Channel');
      }
      const raw = rawBody(req);
      if (!verify(raw, req.headers, found.row.webhook_secret)) {
        req.log.warn({ channelId }, 'telegram webhook rejected: missing or wrong secret token');
        throw new UnauthenticatedError('The secret token is missing or wrong');
      }
      let parsed: ReturnType<typeof parse>;
      try {
        parsed = parse(raw);
      } catch (err) {
        req.log.warn({ channelId, reason: (err as Error).message }, 'telegram webhook: malformed body');
        throw invalid('body', 'is not a Telegram Update');
      }
      if (parsed.ignored.length > 0) req.log.info({ channelId, ignored: parsed.ignored }, 'telegram webhook: ignored');
      await receiveInbound(app, found.channel, parsed.events);
      return reply.code(200).send({ ok: true });
    });
  });
};
