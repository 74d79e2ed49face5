import { serialize } from 'cookie';
import { z } from 'zod';
import { RateLimitedError, UnauthenticatedError } from '../../core/errors.js';
import { createSession, SESSION_TTL_MS, sha256, userProjects } from '../../services/accounts.js';
import {
  AcceptInviteInput,
  acceptInvite,
  CreatedInviteSchema,
  CreateInviteInput,
  createInvite,
  InviteSchema,
  listInvites,
  lookupInvite,
  PublicInviteSchema,
  revokeInvite,
} from '../../services/invites.js';
import { listAllMembers, MemberSchema, UpdateMemberInput, updateMember } from '../../services/members.js';
import {
  getProjectSettings,
  ProjectSettingsSchema,
  UpdateProjectSettingsInput,
  updateProjectSettings,
} from '../../services/project-settings.js';
import { getSetupChecklist, SetupChecklistSchema } from '../../services/setup-checklist.js';
import { RateLimiter } from '../../core/rate-limit.js';
import { SESSION_COOKIE } from '../auth.js';
import type { RouteModule } from '../app.js';
import { ProjectItemParams, ProjectParams } from '../route.js';

/**
 * Administration (issue 4 §4, SPEC §4.8): members and invitations, project settings with the
 * service switches, and the setup checklist of R8. Admins only, except reading the settings (also
 * supervisors) and the two public invitation endpoints, which only the link's holder can use.
 */

const TokenParams = z.strictObject({ token: z.string().min(1).max(200) });

const SignedIn = z.object({
  user: z.object({ id: z.number(), email: z.string(), name: z.string(), locale: z.string().nullable() }),
  csrfToken: z.string(),
  projects: z.array(
    z.object({
      id: z.number(),
      name: z.string(),
      role: z.enum(['admin', 'supervisor', 'manager']),
      timeZone: z.string(),
      language: z.string(),
    }),
  ),
  projectId: z.number().describe('The project the invitation was for'),
});

export const adminRoutes: RouteModule = ({ app, route }) => {
  const users = '/api/v1/projects/:projectId/users';
  // Failed acceptances (a wrong password of an existing account), per link and per client IP.
  const perInvite = new RateLimiter(10, 15 * 60_000, app.clock);
  const perIp = new RateLimiter(50, 15 * 60_000, app.clock);
  const secureCookie = app.config.publicUrl.startsWith('https://');

  route({
    method: 'GET',
    url: `${users}/all`,
    summary: 'Every member with email and role, disabled ones too (admins)',
    tags: ['users'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    response: z.object({ items: z.array(MemberSchema) }),
    handler: async ({ ctx }) => listAllMembers(ctx),
  });
  route({
    method: 'PATCH',
    url: `${users}/:id`,
    summary: "Change a member's role, or disable / enable them in this project; a change that leaves no admin is a 409",
    tags: ['users'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    body: UpdateMemberInput,
    response: MemberSchema,
    handler: async ({ ctx, params, body }) => updateMember(ctx, params.id, body),
  });
  route({
    method: 'GET',
    url: `${users}/invites`,
    summary: 'Invitations not accepted yet (pending, and expired in the last week)',
    tags: ['users'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    response: z.object({ items: z.array(InviteSchema) }),
    handler: async ({ ctx }) => listInvites(ctx),
  });
  route({
    method: 'POST',
    url: `${users}/invites`,
    summary:
      'Invite by link: answers the link once (valid 7 days, one use); an earlier open link for the email stops working',
    tags: ['users'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    body: CreateInviteInput,
    response: CreatedInviteSchema,
    status: 201,
    handler: async ({ ctx, body }) => createInvite(ctx, body),
  });
  route({
    method: 'DELETE',
    url: `${users}/invites/:id`,
    summary: 'Withdraw an invitation (its link answers 410)',
    tags: ['users'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    status: 204,
    handler: async ({ ctx, params, reply }) => {
      await revokeInvite(ctx, params.id);
      return reply.code(204).send();
    },
  });

  route({
    method: 'GET',
    url: '/api/v1/invites/:token',
    summary: 'The invitation behind a link: project, email, role (404 unknown; 410 used, withdrawn or expired)',
    tags: ['users'],
    auth: 'none',
    params: TokenParams,
    response: PublicInviteSchema,
    handler: async ({ params }) => lookupInvite(app, params.token),
  });
  route({
    method: 'POST',
    url: '/api/v1/invites/:token/accept',
    summary:
      'Accept an invitation: a new account (name, password), or an existing account’s password; signs in like login (sets the session cookie)',
    tags: ['users'],
    auth: 'none',
    params: TokenParams,
    body: AcceptInviteInput,
    response: SignedIn,
    handler: async ({ params, body, req, reply }) => {
      const key = sha256(params.token);
      const wait = Math.max(perInvite.check(key), perIp.check(req.ip));
      if (wait) throw new RateLimitedError(wait);
      let accepted: Awaited<ReturnType<typeof acceptInvite>>;
      try {
        accepted = await acceptInvite(app, params.token, body, req.ip);
      } catch (e) {
        if (e instanceof UnauthenticatedError) {
          perInvite.hit(key);
          perIp.hit(req.ip);
        }
        throw e;
      }
      const s = await createSession(app, accepted.userId);
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
      const user = await app.store.db
        .selectFrom('users')
        .select(['id', 'email', 'name', 'locale'])
        .where('id', '=', accepted.userId)
        .executeTakeFirstOrThrow();
      return {
        user,
        csrfToken: s.csrfToken,
        projects: await userProjects(app.store, accepted.userId),
        projectId: accepted.projectId,
      };
    },
  });

  route({
    method: 'GET',
    url: '/api/v1/projects/:projectId/settings',
    summary: 'Project settings: name, time zone, language, distribution, auto-close, service switches, prefixes',
    tags: ['settings'],
    auth: 'project',
    roles: ['admin', 'supervisor'],
    params: ProjectParams,
    response: ProjectSettingsSchema,
    handler: async ({ ctx }) => getProjectSettings(ctx),
  });
  route({
    method: 'PATCH',
    url: '/api/v1/projects/:projectId/settings',
    summary: 'Change project settings; the fields left out keep their value',
    tags: ['settings'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    body: UpdateProjectSettingsInput,
    response: ProjectSettingsSchema,
    handler: async ({ ctx, body }) => updateProjectSettings(ctx, body),
  });
  route({
    method: 'GET',
    url: '/api/v1/projects/:projectId/setup',
    summary: 'The setup checklist (R8): which preconditions of the Message log hold, and how to fix the rest',
    tags: ['settings'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    response: SetupChecklistSchema,
    handler: async ({ ctx }) => getSetupChecklist(ctx),
  });
};
