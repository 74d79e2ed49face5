import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ForbiddenError, ValidationError } from '../core/errors.js';
import type { Role } from '../store/types.js';
import type { AppContext, ProjectContext } from '../services/context.js';
import { loadProjectContext, type Principal } from './auth.js';
import { apiKey, authenticateLimited, limitApi } from './limits.js';
import { parseIdempotency } from '../services/idempotency.js';
import type { SendOptions } from '../services/send-reply.js';

/**
 * One route = its schemas + who may call it + one service call. The same zod schemas validate
 * requests and produce the OpenAPI document, so the two cannot disagree.
 */
type Auth = 'none' | 'principal' | 'project';

export interface RouteDef<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A extends Auth> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  summary: string;
  tags: string[];
  auth: A;
  /** For project routes: the roles allowed (default: all three). */
  roles?: Role[];
  params?: P;
  query?: Q;
  body?: B;
  /** Documentation of the success response. */
  response?: z.ZodType;
  /** Content type of the success response when it is not JSON (e.g. text/csv). */
  produces?: string;
  status?: number;
  /** Takes an `Idempotency-Key` header (services/idempotency.ts): the handler gets it as `send`. */
  idempotent?: boolean;
  handler: (input: {
    params: z.infer<P>;
    query: z.infer<Q>;
    body: z.infer<B>;
    req: FastifyRequest;
    reply: FastifyReply;
    app: AppContext;
    principal: A extends 'none' ? undefined : Principal;
    ctx: A extends 'project' ? ProjectContext : undefined;
    /** For an idempotent route: the request's key, and the answer's `Idempotent-Replayed: true` on a repeat. */
    send: SendOptions;
  }) => Promise<unknown>;
}

export interface RegisteredRoute {
  method: string;
  url: string;
  summary: string;
  tags: string[];
  auth: Auth;
  roles?: Role[];
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
  produces?: string;
  status?: number;
  idempotent?: boolean;
}

export const ProjectParams = z.strictObject({
  projectId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});
export const ProjectItemParams = ProjectParams.extend({
  id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});

function parsePart<T extends z.ZodType>(schema: T | undefined, value: unknown, part: string): z.infer<T> {
  if (!schema) return undefined as z.infer<T>;
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  throw new ValidationError(
    r.error.issues.map((i) => {
      const path =
        i.path.length > 0
          ? i.path
          : i.code === 'unrecognized_keys'
            ? [(i as { keys?: string[] }).keys?.join(', ') ?? '']
            : [];
      const message = i.code === 'unrecognized_keys' ? 'is not a known parameter' : i.message;
      return { field: [part, ...path.map(String)].filter(Boolean).join('.'), message };
    }),
  );
}

export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A extends Auth>(
  fastify: FastifyInstance,
  app: AppContext,
  registry: RegisteredRoute[],
  def: RouteDef<P, Q, B, A>,
) {
  registry.push({
    method: def.method,
    url: def.url,
    summary: def.summary,
    tags: def.tags,
    auth: def.auth,
    roles: def.roles,
    params: def.params,
    query: def.query,
    body: def.body,
    response: def.response,
    produces: def.produces,
    status: def.status,
    idempotent: def.idempotent,
  });
  fastify.route({
    method: def.method,
    url: def.url,
    handler: async (req, reply) => {
      // Order: authenticate, parse, authorize, act (a bad request from a stranger gets 401, not 400).
      const principal = def.auth === 'none' ? undefined : await authenticateLimited(app, req);
      // Per token / per user request rate (http/limits.ts): refused before anything is read or changed.
      if (principal) limitApi(app, principal);
      const params = parsePart(def.params, req.params, 'path');
      const query = parsePart(def.query, req.query, 'query');
      const body = parsePart(def.body, req.body, 'body');
      let ctx: ProjectContext | undefined;
      if (def.auth === 'project') {
        ctx = await loadProjectContext(app, req, principal!, (params as { projectId: number }).projectId);
        const role = ctx.actor.type === 'system' ? 'admin' : ctx.actor.role;
        if (def.roles && !def.roles.includes(role)) {
          throw new ForbiddenError(`This needs the role ${def.roles.join(' or ')}; you are ${role}`);
        }
      }
      // Only the idempotent routes read the header (the others get an empty SendOptions).
      const send: SendOptions =
        def.idempotent && principal
          ? {
              idempotency: parseIdempotency(
                req.headers['idempotency-key'],
                apiKey(principal),
                def.method,
                req.url,
                body,
              ),
              onReplay: () => reply.header('idempotent-replayed', 'true'),
            }
          : {};
      const result = await def.handler({
        send,
        params,
        query,
        body,
        req,
        reply,
        app,
        principal: principal as never,
        ctx: ctx as never,
      });
      if (reply.sent) return reply;
      if (def.status) reply.code(def.status);
      return result;
    },
  });
}
