import { z } from 'zod';
import {
  ApiTokenSchema,
  CreatedApiTokenSchema,
  CreateTokenInput,
  createProjectApiToken,
  listApiTokens,
  revokeApiToken,
} from '../../services/api-tokens.js';
import type { RouteModule } from '../app.js';
import { ProjectItemParams, ProjectParams } from '../route.js';

/**
 * API tokens (SPEC §4.9): admins only. The token is answered once, on creation; a revoked token
 * answers 401 from then on. A token may revoke itself (rotation from the integration that holds it).
 */
export const tokenRoutes: RouteModule = ({ route }) => {
  const base = '/api/v1/projects/:projectId/tokens';
  route({
    method: 'GET',
    url: base,
    summary: "The project's API tokens, revoked ones included (never the token or its hash)",
    tags: ['tokens'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    response: z.object({ items: z.array(ApiTokenSchema) }),
    handler: async ({ ctx }) => listApiTokens(ctx),
  });
  route({
    method: 'POST',
    url: base,
    summary: 'Create an API token with a role; answers the token (dz_…) once',
    tags: ['tokens'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    body: CreateTokenInput,
    response: CreatedApiTokenSchema,
    status: 201,
    handler: async ({ ctx, body }) => createProjectApiToken(ctx, body),
  });
  route({
    method: 'DELETE',
    url: `${base}/:id`,
    summary: 'Revoke an API token (idempotent; the token answers 401 from then on, a token may revoke itself)',
    tags: ['tokens'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    status: 204,
    handler: async ({ ctx, params, reply }) => {
      await revokeApiToken(ctx, params.id);
      return reply.code(204).send();
    },
  });
};
