import { z } from 'zod';
import {
  CreateNumberInput,
  createNumber,
  deleteNumber,
  ListNumbersQuery,
  listNumbers,
  NumberSchema,
  UpdateNumberInput,
  updateNumber,
} from '../../services/numbers.js';
import type { RouteModule } from '../app.js';
import { ProjectItemParams, ProjectParams } from '../route.js';

/** Numbers of the SMS channels (SPEC R6, §7 "A number"): every role reads them, admins change them. */
export const numberRoutes: RouteModule = ({ route }) => {
  const base = '/api/v1/projects/:projectId/numbers';
  route({
    method: 'GET',
    url: base,
    summary: 'The SMS numbers, with outboundOnly, canReply and senderLabel',
    tags: ['numbers'],
    auth: 'project',
    params: ProjectParams,
    query: ListNumbersQuery,
    response: z.object({ items: z.array(NumberSchema) }),
    handler: async ({ ctx, query }) => listNumbers(ctx, query),
  });
  route({
    method: 'POST',
    url: base,
    summary: 'Add a number to an SMS channel (E.164, normalised)',
    tags: ['numbers'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    body: CreateNumberInput,
    response: NumberSchema,
    status: 201,
    handler: async ({ ctx, body }) => createNumber(ctx, body),
  });
  route({
    method: 'PATCH',
    url: `${base}/:id`,
    summary: 'Switch SMS on or off, or override the outbound-only prefixes for this number',
    tags: ['numbers'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    body: UpdateNumberInput,
    response: NumberSchema,
    handler: async ({ ctx, params, body }) => updateNumber(ctx, params.id, body),
  });
  route({
    method: 'DELETE',
    url: `${base}/:id`,
    summary: 'Delete a number (dialogs that used it keep their history)',
    tags: ['numbers'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    status: 204,
    handler: async ({ ctx, params, reply }) => {
      await deleteNumber(ctx, params.id);
      return reply.code(204).send();
    },
  });
};
