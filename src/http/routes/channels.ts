import { z } from 'zod';
import {
  ChannelSchema,
  ChannelTestSchema,
  CreateChannelInput,
  createChannel,
  getChannel,
  ListChannelsQuery,
  listChannels,
  RemoveChannelSchema,
  removeChannel,
  testChannel,
  UpdateChannelInput,
  updateChannel,
} from '../../services/channels.js';
import type { RouteModule } from '../app.js';
import { ProjectItemParams, ProjectParams } from '../route.js';

/**
 * Channels (SPEC §4.8). Every role may read them — the workspace needs names, types and deep
 * links — but only admins see (masked) credentials, change channels or run a connection test.
 */
export const channelRoutes: RouteModule = ({ route }) => {
  const base = '/api/v1/projects/:projectId/channels';
  route({
    method: 'GET',
    url: base,
    summary: "The project's channels (credentials masked, for admins only)",
    tags: ['channels'],
    auth: 'project',
    params: ProjectParams,
    query: ListChannelsQuery,
    response: z.object({ items: z.array(ChannelSchema) }),
    handler: async ({ ctx, query }) => listChannels(ctx, query),
  });
  route({
    method: 'POST',
    url: base,
    summary:
      'Connect a channel: checks the credentials at the platform and registers the webhook there (nothing is kept when the platform refuses)',
    tags: ['channels'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectParams,
    body: CreateChannelInput,
    response: ChannelSchema,
    status: 201,
    handler: async ({ ctx, body }) => createChannel(ctx, body),
  });
  route({
    method: 'GET',
    url: `${base}/:id`,
    summary: 'One channel (removed ones too: old dialogs still name them)',
    tags: ['channels'],
    auth: 'project',
    params: ProjectItemParams,
    response: ChannelSchema,
    handler: async ({ ctx, params }) => getChannel(ctx, params.id),
  });
  route({
    method: 'PATCH',
    url: `${base}/:id`,
    summary: 'Rename, pause / resume, or rotate credentials (the platform is asked again)',
    tags: ['channels'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    body: UpdateChannelInput,
    response: ChannelSchema,
    handler: async ({ ctx, params, body }) => updateChannel(ctx, params.id, body),
  });
  route({
    method: 'DELETE',
    url: `${base}/:id`,
    summary:
      'Remove a channel: its webhook is deleted at the platform where possible; with dialogs it is kept, disabled, for their history',
    tags: ['channels'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    response: RemoveChannelSchema,
    handler: async ({ ctx, params }) => removeChannel(ctx, params.id),
  });
  route({
    method: 'POST',
    url: `${base}/:id/test`,
    summary:
      'Connection test: asks the platform (getMe / get_account_info / the page / an SMPP bind) and checks the webhook',
    tags: ['channels'],
    auth: 'project',
    roles: ['admin'],
    params: ProjectItemParams,
    body: z.strictObject({}),
    response: ChannelTestSchema,
    handler: async ({ ctx, params }) => testChannel(ctx, params.id),
  });
};
