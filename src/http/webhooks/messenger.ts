import { z } from 'zod';
import { createProfileLookup, parse, verify, verifySubscription } from '../../channels/messenger/inbound.js';
import { ForbiddenError, invalid, NotFoundError, UnauthenticatedError } from '../../core/errors.js';
import { findWebhookChannel, receiveInbound } from '../../services/receive-inbound.js';
import type { RouteModule } from '../app.js';
import { channelIdOf, rawBody, rawBodyScope, WEBHOOK_BODY_LIMIT } from './raw-body.js';
import { limitWebhooks } from '../limits.js';
import { observeWebhooks } from '../metrics.js';

/**
 * `GET|POST /webhooks/messenger/{channelId}` (SPEC §7). GET is Meta's verification request: with
 * `hub.mode=subscribe` and our verify token it answers `hub.challenge` as text/plain, else 403.
 * POST carries the events, signed with X-Hub-Signature-256 over the raw bytes. Order: the channel
 * (404), the signature (401), the body (400), the senders' names from the Graph API (a failed
 * look-up does not stop the message), stored, then 200. Only our own failure answers 500.
 */

const Params = z.object({ channelId: z.coerce.number().int().positive().describe('The channel the webhook is for') });
const HandshakeQuery = z.object({
  'hub.mode': z.literal('subscribe'),
  'hub.verify_token': z.string().describe('The verify token set for the channel'),
  'hub.challenge': z.string().describe('Echoed back on success'),
});

interface MessengerCredentials {
  pageId?: string;
  pageAccessToken?: string;
  appSecret?: string;
  verifyToken?: string;
}

export const messengerWebhookRoutes: RouteModule = ({ fastify, app, registry, metrics }) => {
  registry.push({
    method: 'GET',
    url: '/webhooks/messenger/:channelId',
    summary: 'Messenger webhook verification: echoes hub.challenge for the right hub.verify_token, else 403',
    tags: ['webhooks'],
    auth: 'none',
    params: Params,
    query: HandshakeQuery,
    produces: 'text/plain',
  });
  registry.push({
    method: 'POST',
    url: '/webhooks/messenger/:channelId',
    summary: 'Messenger Platform webhook events (X-Hub-Signature-256); 401 when unsigned or forged',
    tags: ['webhooks'],
    auth: 'none',
    params: Params,
  });
  // One cache per running app: names change rarely, and a webhook must not wait on the Graph API.
  const profileName = createProfileLookup({ fetch: globalThis.fetch, graphApiUrl: app.config.graphApiUrl });

  rawBodyScope(fastify, (scope) => {
    observeWebhooks(scope, metrics, 'messenger');
    limitWebhooks(scope, app, 'messenger');
    scope.get('/webhooks/messenger/:channelId', async (req, reply) => {
      const channelId = channelIdOf(req);
      const found = await findWebhookChannel<MessengerCredentials>(app, channelId, 'messenger');
      if (!found) {
        req.log.warn({ channelId }, 'messenger verification for an unknown or removed channel');
        throw new NotFoundError('Channel');
      }
      const challenge = verifySubscription(req.query as Record<string, unknown>, found.credentials.verifyToken);
      if (challenge === undefined) {
        req.log.warn({ channelId }, 'messenger verification refused: wrong hub.mode or hub.verify_token');
        throw new ForbiddenError('The verify token does not match');
      }
      return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send(challenge);
    });

    scope.post('/webhooks/messenger/:channelId', { bodyLimit: WEBHOOK_BODY_LIMIT }, async (req, reply) => {
      const channelId = channelIdOf(req);
      const found = await findWebhookChannel<MessengerCredentials>(app, channelId, 'messenger');
      if (!found) {
        req.log.warn({ channelId }, 'messenger webhook for an unknown or removed channel');
        throw new NotFoundError('Channel');
      }
      const raw = rawBody(req);
      if (!verify(raw, req.headers, found.credentials.appSecret)) {
        req.log.warn({ channelId }, 'messenger webhook rejected: missing or wrong X-Hub-Signature-256');
        throw new UnauthenticatedError('The X-Hub-Signature-256 is missing or wrong');
      }
      let parsed: ReturnType<typeof parse>;
      try {
        parsed = parse(raw, { pageId: found.credentials.pageId });
      } catch (err) {
        req.log.warn({ channelId, reason: (err as Error).message }, 'messenger webhook: malformed body');
        throw invalid('body', 'is not a Messenger webhook payload');
      }
      if (parsed.ignored.length > 0) {
        req.log.info({ channelId, ignored: parsed.ignored }, 'messenger webhook: ignored');
      }
      // Names first, outside the transaction; the PSID stands in when the Graph API fails.
      const token = found.credentials.pageAccessToken;
      if (token) {
        const psids = new Set<string>();
        for (const e of parsed.events) if (e.kind === 'message' || e.kind === 'start') psids.add(e.externalUserId);
        const names = new Map(
          await Promise.all([...psids].map(async (p) => [p, await profileName(p, token)] as const)),
        );
        for (const e of parsed.events) {
          if (e.kind === 'message' || e.kind === 'start') e.displayName = names.get(e.externalUserId);
        }
        const missing = [...names].filter(([, n]) => n === undefined).length;
        if (missing > 0) req.log.warn({ channelId, missing }, 'messenger webhook: profile look-up failed; PSID kept');
      }
      await receiveInbound(app, found.channel, parsed.events);
      return reply.code(200).send({ ok: true });
    });
  });
};
