import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Platform webhooks carry at most a few kilobytes; anything much larger is refused with 413. */
export const WEBHOOK_BODY_LIMIT = 256 * 1024;

/**
 * Registers webhook routes in a scope whose bodies stay the exact bytes received: nothing is
 * parsed before the signature over those bytes has been checked.
 */
export function rawBodyScope(fastify: FastifyInstance, register: (scope: FastifyInstance) => void) {
  fastify.register(async (scope: FastifyInstance) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    register(scope);
  });
}

export function rawBody(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/** The channel id from the path, or 0 (never a channel) when it is not a plain number. */
export function channelIdOf(req: FastifyRequest): number {
  const v = (req.params as { channelId?: string }).channelId ?? '';
  return /^\d{1,15}$/.test(v) ? Number(v) : 0;
}
