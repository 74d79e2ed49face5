import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, type ErrorCode, ErrorCodes } from '../core/errors.js';

/** The one mapping from error codes to HTTP statuses. */
const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  invalid_state: 409,
  gone: 410,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  platform_error: 502,
  internal_error: 500,
};

export function errorBody(code: ErrorCode, message: string, requestId: string, fields?: unknown) {
  return { error: { code, message, requestId, ...(fields ? { fields } : {}) } };
}

export function installErrorHandlers(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError | AppError | Error, req, reply) => {
    if (err instanceof AppError) {
      if (err.retryAfterSeconds) reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.code(STATUS[err.code]).send(errorBody(err.code, err.message, req.id, err.fields));
    }
    const fe = err as FastifyError;
    // Fastify's own request errors: bad JSON, wrong content type, body too large.
    if (fe.statusCode === 413) {
      return reply.code(413).send(errorBody(ErrorCodes.PAYLOAD_TOO_LARGE, 'The request body is too large', req.id));
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      const field = fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'content-type' : 'body';
      return reply
        .code(400)
        .send(errorBody(ErrorCodes.VALIDATION, fe.message, req.id, [{ field, message: fe.message }]));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody(ErrorCodes.INTERNAL, 'Something went wrong on our side', req.id));
  });
  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .send(errorBody(ErrorCodes.NOT_FOUND, `No route for ${req.method} ${req.url.split('?')[0]}`, req.id));
  });
}
