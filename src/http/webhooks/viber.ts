import { z } from 'zod';
import { parse, verify } from '../../channels/viber/inbound.js';
import { invalid, NotFoundError, UnauthenticatedError } from '../../core/errors.js';
import { findWebhookChannel, receiveInbound } from '../../services/receive-inbound.js';
import type { RouteModule } from '../app.js';
import { channelIdOf, rawBody, rawBodyScope, WEBHOOK_BODY_LIMIT } from './raw-body.js';
import { limitWebhooks } from '../limits.js';
import { observeWebhooks } from '../metrics.js';

/**
 * `POST /webhooks/viber/{channelId}` (SPEC §7): Viber's callbacks, signed with
 * X-Viber-Content-Signature. Order: the channel (404), the signature on the raw bytes (401), the
 * body (400), stored, then 200 — also for set_webhook's `webhook` check and for events we ignore.
 * Only our own failure answers 500.
 */

const Params = z.object({ channelId: z.coerce.number().int().positive().describe('The channel the webhook is for') });

interface ViberCredentials {
  authToken?: string;
}

export const viberWebhookRoutes: RouteModule = ({ fastify, app, registry, metrics }) => {
  registry.push({
    method: 'POST',
    url: '/webhooks/viber/:channelId',
    summary: 'Viber REST Bot API callbacks (X-Viber-Content-Signature); 401 when unsigned or forged',
    tags: ['webhooks'],
    auth: 'none',
    params: Params,
  });
  rawBodyScope(fastify, (scope) => {
    observeWebhooks(scope, metrics, 'viber');
    limitWebhooks(scope, app, 'viber');
    scope.post('/webhooks/viber/:channelId', { bodyLimit: WEBHOOK_BODY_LIMIT }, async (req, reply) => {
      const channelId = channelIdOf(req);
      const found = await findWebhookChannel<ViberCredentials>(app, channelId, 'viber');
      if (!found) {
        req.log.warn({ channelId }, 'viber webhook for an unknown or removed channel');
        throw new NotFoundError('Channel');
      }
      const raw = rawBody(req);
      if (!verify(raw, req.headers, found.credentials.authToken)) {
        req.log.warn({ channelId }, 'viber webhook rejected: missing or wrong X-Viber-Content-Signature');
        throw new UnauthenticatedError('The X-Viber-Content-Signature is missing or wrong');
      }
      let parsed: ReturnType<typeof parse>;
      try {
        parsed = parse(raw);
      } catch (err) {
        req.log.warn({ channelId, reason: (err as Error).message }, 'viber webhook: malformed body');
        throw invalid('body', 'is not a Viber callback');
      }
      if (parsed.ignored.length > 0) req.log.info({ channelId, ignored: parsed.ignored }, 'viber webhook: ignored');
      await receiveInbound(app, found.channel, parsed.events);
      return reply.code(200).send({ ok: true });
    });
  });
};
