import { z } from 'zod';
import { RateLimiter } from '../../core/rate-limit.js';
import { RateLimitedError, UnauthenticatedError } from '../../core/errors.js';
import {
  checkPassword,
  createSession,
  deleteSession,
  Email,
  SESSION_TTL_MS,
  userProjects,
} from '../../services/accounts.js';
import { SESSION_COOKIE } from '../auth.js';
import type { RouteModule } from '../app.js';
import { serialize } from 'cookie';

const LoginBody = z.strictObject({
  email: Email,
  password: z.string().min(1).max(1024),
});

const Me = z.object({
  user: z.object({ id: z.number(), email: z.string(), name: z.string(), locale: z.string().nullable() }),
  csrfToken: z.string().describe('Send as X-CSRF-Token with every cookie-authenticated write'),
  projects: z.array(
    z.object({
      id: z.number(),
      name: z.string(),
      role: z.enum(['admin', 'supervisor', 'manager']),
      timeZone: z.string(),
      language: z.string(),
    }),
  ),
});

export const authRoutes: RouteModule = ({ app, route }) => {
  // Failed attempts over 15 minutes, per client IP (generous: an office shares one address) and
  // per email. Successful sign-ins do not count.
  const perIp = new RateLimiter(50, 15 * 60_000, app.clock);
  const perEmail = new RateLimiter(10, 15 * 60_000, app.clock);
  const secureCookie = app.config.publicUrl.startsWith('https://');

  route({
    method: 'POST',
    url: '/api/v1/auth/login',
    summary: 'Sign in with email and password; sets the session cookie',
    tags: ['auth'],
    auth: 'none',
    body: LoginBody,
    response: Me,
    handler: async ({ body, req, reply }) => {
      // Count the attempt before the (slow) password check, so parallel guesses cannot all pass
      // the limit; a successful sign-in takes its attempt back.
      const waitIp = perIp.hit(req.ip);
      const waitEmail = perEmail.hit(body.email);
      if (waitIp || waitEmail) throw new RateLimitedError(Math.max(waitIp, waitEmail));
      const user = await checkPassword(app.store, body.email, body.password);
      if (!user) throw new UnauthenticatedError('Wrong email or password');
      perEmail.reset(body.email);
      perIp.undo(req.ip);
      const s = await createSession(app, user.id);
      reply.header(
        'set-cookie',
        serialize(SESSION_COOKIE, s.token, {
          httpOnly: true,
          sameSite: 'lax',
          secure: secureCookie || req.protocol === 'https',
          path: '/',
          maxAge: Math.floor(SESSION_TTL_MS / 1000),
        }),
      );
      return {
        user: { id: user.id, email: user.email, name: user.name, locale: user.locale },
        csrfToken: s.csrfToken,
        projects: await userProjects(app.store, user.id),
      };
    },
  });

  route({
    method: 'POST',
    url: '/api/v1/auth/logout',
    summary: 'Sign out: ends the session',
    tags: ['auth'],
    auth: 'principal',
    status: 204,
    handler: async ({ principal, reply }) => {
      if (principal.kind === 'session') await deleteSession(app.store, principal.sessionId);
      reply.header(
        'set-cookie',
        serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 0 }),
      );
      reply.code(204).send();
    },
  });

  route({
    method: 'GET',
    url: '/api/v1/me',
    summary: 'The signed-in user, their projects and roles, and the CSRF token',
    tags: ['auth'],
    auth: 'principal',
    response: Me.or(
      z.object({ token: z.object({ id: z.number(), name: z.string(), projectId: z.number(), role: z.string() }) }),
    ),
    handler: async ({ principal }) => {
      if (principal.kind === 'token') {
        return {
          token: { id: principal.tokenId, name: principal.name, projectId: principal.projectId, role: principal.role },
        };
      }
      return {
        user: principal.user,
        csrfToken: principal.csrfToken,
        projects: await userProjects(app.store, principal.user.id),
      };
    },
  });
};
