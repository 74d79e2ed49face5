import { z } from 'zod';
import { verifySignature } from '../../channels/sms-http/api.js';
import { GatewayCallback, type GatewayEvent, parse } from '../../channels/sms-http/inbound.js';
import {
  ErrorCodes,
  type FieldIssue,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from '../../core/errors.js';
import type { InboundEvent } from '../../core/inbound.js';
import type { AppContext } from '../../services/context.js';
import { outboundOnlyPrefixes, resolveInboundNumber } from '../../services/numbers.js';
import { findWebhookChannel, type InboundChannel, receiveInbound } from '../../services/receive-inbound.js';
import type { RouteModule } from '../app.js';
import { errorBody } from '../errors.js';
import { channelIdOf, rawBody, rawBodyScope, WEBHOOK_BODY_LIMIT } from './raw-body.js';
import { limitWebhooks } from '../limits.js';
import { observeWebhooks } from '../metrics.js';

/**
 * `POST /webhooks/sms/{channelId}` (SPEC §7): an HTTP SMS gateway's incoming SMS and delivery
 * reports, in Dziennik's own protocol (docs/SMS-GATEWAY.md). Order: the channel (404), the
 * signature and timestamp on the raw bytes (401), the body (400 naming the field), the receiving
 * numbers (422 for one that cannot receive: outbound-only or SMS disabled), stored, then 200 with
 * one outcome per event. A batch is refused or taken as a whole. Events of an unknown type are
 * acknowledged and ignored; only our own failure answers 500, which the gateway should retry.
 */

const Params = z.object({ channelId: z.coerce.number().int().positive().describe('The channel the webhook is for') });

const Outcome = z.enum(['stored', 'duplicate', 'ignored']);
const Answer = z.object({
  ok: z.literal(true),
  results: z.array(Outcome).describe('One per event, in order; a duplicate (same id) was already stored'),
});

interface SmsHttpCredentials {
  secret?: string;
}

export const smsWebhookRoutes: RouteModule = ({ fastify, app, registry, metrics }) => {
  registry.push({
    method: 'POST',
    url: '/webhooks/sms/:channelId',
    summary:
      'HTTP SMS gateway callbacks (docs/SMS-GATEWAY.md): X-Dziennik-Timestamp + X-Dziennik-Signature (HMAC-SHA256 of "<timestamp>.<body>"); 401 when unsigned, forged or stale; 422 for a number that cannot receive',
    tags: ['webhooks'],
    auth: 'none',
    params: Params,
    body: GatewayCallback,
    response: Answer,
  });
  rawBodyScope(fastify, (scope) => {
    observeWebhooks(scope, metrics, 'sms');
    limitWebhooks(scope, app, 'sms');
    scope.post('/webhooks/sms/:channelId', { bodyLimit: WEBHOOK_BODY_LIMIT }, async (req, reply) => {
      const channelId = channelIdOf(req);
      const found = await findWebhookChannel<SmsHttpCredentials>(app, channelId, 'sms-http');
      if (!found) {
        req.log.warn({ channelId }, 'sms gateway webhook for an unknown or removed channel');
        throw new NotFoundError('Channel');
      }
      const raw = rawBody(req);
      const verdict = verifySignature(raw, req.headers, found.credentials.secret, app.clock());
      if (!verdict.ok) {
        req.log.warn({ channelId, reason: verdict.reason }, 'sms gateway webhook rejected: bad signature');
        throw new UnauthenticatedError(verdict.message);
      }
      let parsed: GatewayEvent[];
      try {
        parsed = parse(raw, app.clock());
      } catch (err) {
        const fields = err instanceof ValidationError ? err.fields : undefined;
        req.log.warn({ channelId, fields }, 'sms gateway webhook: malformed body');
        throw err;
      }
      const refused = await attachNumbers(app, found.channel, parsed);
      if (refused.length > 0) {
        req.log.warn({ channelId, refused }, 'sms gateway webhook: a number that cannot receive');
        return reply.code(422).send(
          errorBody(
            ErrorCodes.INVALID_STATE,
            refused.map((r) => r.message).join('; '),
            req.id,
            refused.map((r) => ({ field: r.field, message: r.message })),
          ),
        );
      }
      const events: InboundEvent[] = [];
      for (const e of parsed) if (e.kind !== 'ignored') events.push(e.event);
      const ignored = parsed.filter((e) => e.kind === 'ignored').map((e) => e.type);
      if (ignored.length > 0) req.log.info({ channelId, ignored }, 'sms gateway webhook: ignored');
      const outcomes = await receiveInbound(app, found.channel, events);
      let next = 0;
      const results = parsed.map((e) => (e.kind === 'ignored' ? 'ignored' : (outcomes[next++]?.outcome ?? 'ignored')));
      return reply.code(200).send({ ok: true, results });
    });
  });
};

/** The number each message was sent to (services/numbers.ts resolveInboundNumber, SPEC R6). */
async function attachNumbers(app: AppContext, channel: InboundChannel, parsed: GatewayEvent[]): Promise<FieldIssue[]> {
  const messages = parsed.filter((e) => e.kind === 'message');
  if (messages.length === 0) return [];
  const prefixes = await outboundOnlyPrefixes(app, channel.projectId);
  const refused: FieldIssue[] = [];
  for (const m of messages) {
    const verdict = await resolveInboundNumber(app, channel.projectId, channel.id, m.to, prefixes);
    if (!verdict.ok) refused.push({ field: m.field, message: verdict.message });
    else if (verdict.numberId !== undefined) m.event.numberId = verdict.numberId;
  }
  return refused;
}
