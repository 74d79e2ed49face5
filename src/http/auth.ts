import type { FastifyRequest } from 'fastify';
import { parse as parseCookie } from 'cookie';
import { AppError, ErrorCodes, NotFoundError, UnauthenticatedError } from '../core/errors.js';
import { csrfMatches, resolveApiToken, resolveSession, type SessionUser } from '../services/accounts.js';
import type { AppContext, ProjectContext } from '../services/context.js';
import type { Role } from '../store/types.js';

export const SESSION_COOKIE = 'dz_session';
export const CSRF_HEADER = 'x-csrf-token';

export type Principal =
  | ({ kind: 'session' } & SessionUser)
  | { kind: 'token'; tokenId: number; projectId: number; name: string; role: Role };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Who is calling: a Bearer API token, or the session cookie. Cookie-authenticated writes must
 * carry the session's CSRF token in X-CSRF-Token (tokens in a header are immune to CSRF).
 */
export async function authenticate(app: AppContext, req: FastifyRequest): Promise<Principal> {
  const authz = req.headers.authorization;
  if (authz) {
    const m = /^Bearer\s+(\S+)$/i.exec(authz);
    if (!m) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
    const t = await resolveApiToken(app, m[1]!);
    return { kind: 'token', tokenId: t.id, projectId: t.project_id, name: t.name, role: t.role };
  }
  const token = req.headers.cookie ? parseCookie(req.headers.cookie)[SESSION_COOKIE] : undefined;
  if (!token) throw new UnauthenticatedError();
  const session = await resolveSession(app, token);
  if (!session) throw new UnauthenticatedError('The session has expired; sign in again');
  if (!SAFE_METHODS.has(req.method)) {
    const header = req.headers[CSRF_HEADER];
    if (!csrfMatches(session.csrfToken, typeof header === 'string' ? header : undefined)) {
      throw new AppError(ErrorCodes.CSRF, `Missing or wrong ${CSRF_HEADER} header for a cookie-authenticated request`);
    }
  }
  return { kind: 'session', ...session };
}

/**
 * The project the path names, as seen by the principal. A project the principal has no part in
 * is reported exactly like one that does not exist.
 */
export async function loadProjectContext(
  app: AppContext,
  req: FastifyRequest,
  principal: Principal,
  projectId: number,
): Promise<ProjectContext> {
  const project = await app.store.db
    .selectFrom('projects')
    .select(['id', 'name', 'time_zone', 'language'])
    .where('id', '=', projectId)
    .executeTakeFirst();
  let actor: ProjectContext['actor'] | undefined;
  if (project) {
    if (principal.kind === 'token') {
      if (principal.projectId === projectId) actor = { type: 'token', id: principal.tokenId, name: principal.name, role: principal.role };
    } else {
      const m = await app.store.db
        .selectFrom('memberships')
        .select('role')
        .where('project_id', '=', projectId)
        .where('user_id', '=', principal.user.id)
        .executeTakeFirst();
      if (m) actor = { type: 'user', id: principal.user.id, name: principal.user.name, role: m.role };
    }
  }
  if (!project || !actor) throw new NotFoundError('Project');
  return {
    ...app,
    project: { id: project.id, name: project.name, timeZone: project.time_zone, language: project.language },
    actor,
    ip: req.ip,
  };
}
