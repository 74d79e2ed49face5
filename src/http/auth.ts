import type { FastifyRequest } from 'fastify';
import { parse as parseCookie } from 'cookie';
import { AppError, ErrorCodes, NotFoundError, UnauthenticatedError } from '../core/errors.js';
import { csrfMatches, resolveApiToken, resolveSession, type SessionUser } from '../services/accounts.js';
import type { AppContext, ProjectContext, ProjectInfo } from '../services/context.js';
import type { Role } from '../store/types.js';

export const SESSION_COOKIE = 'dz_session';
export const CSRF_HEADER = 'x-csrf-token';

export type Principal =
  | ({ kind: 'session' } & SessionUser)
  | { kind: 'token'; tokenId: number; projectId: number; name: string; role: Role; project: ProjectInfo };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Who is calling: a Bearer API token, or the session cookie. Cookie-authenticated writes must
 * carry the session's CSRF token in X-CSRF-Token (tokens in a header are immune to CSRF).
 */
export async function authenticate(
  app: AppContext,
  req: FastifyRequest,
  opts: { slideSession?: boolean } = {},
): Promise<Principal> {
  const authz = req.headers.authorization;
  if (authz) {
    const m = /^Bearer\s+(\S+)$/i.exec(authz);
    if (!m) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
    const t = await resolveApiToken(app, m[1]!);
    return {
      kind: 'token',
      tokenId: t.id,
      projectId: t.project_id,
      name: t.name,
      role: t.role,
      project: { id: t.project_id, name: t.project_name, timeZone: t.project_time_zone, language: t.project_language },
    };
  }
  const token = req.headers.cookie ? parseCookie(req.headers.cookie)[SESSION_COOKIE] : undefined;
  if (!token) throw new UnauthenticatedError();
  const session = await resolveSession(app, token, { slide: opts.slideSession ?? true });
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
  let project: ProjectInfo | undefined;
  let actor: ProjectContext['actor'] | undefined;
  if (principal.kind === 'token') {
    // A token belongs to one project; any other is reported like a missing one.
    if (principal.projectId === projectId) {
      project = principal.project;
      actor = { type: 'token', id: principal.tokenId, name: principal.name, role: principal.role };
    }
  } else {
    // The project and the user's membership in one query.
    const row = await app.store.db
      .selectFrom('projects')
      .innerJoin('memberships', (j) =>
        j.onRef('memberships.project_id', '=', 'projects.id').on('memberships.user_id', '=', principal.user.id),
      )
      .select(['projects.id', 'projects.name', 'projects.time_zone', 'projects.language', 'memberships.role'])
      .where('projects.id', '=', projectId)
      .executeTakeFirst();
    if (row) {
      project = { id: row.id, name: row.name, timeZone: row.time_zone, language: row.language };
      actor = { type: 'user', id: principal.user.id, name: principal.user.name, role: row.role };
    }
  }
  if (!project || !actor) throw new NotFoundError('Project');
  return {
    ...app,
    project,
    actor,
    ip: req.ip,
  };
}
