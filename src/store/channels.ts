import type { Selectable } from 'kysely';
import { open, seal } from '../core/secret-box.js';
import type { Store } from './open.js';
import type { ChannelsTable } from './types.js';

export type ChannelRow = Selectable<ChannelsTable>;

/** The context a channel's sealed credentials are bound to (a copy in another row will not open). */
export const credentialsContext = (projectId: number, channelId: number) => `channel:${projectId}:${channelId}`;

export function sealCredentials(secretKey: string, projectId: number, channelId: number, credentials: object): string {
  return seal(secretKey, credentialsContext(projectId, channelId), JSON.stringify(credentials));
}

export function openCredentials<T = Record<string, unknown>>(
  secretKey: string,
  row: Pick<ChannelRow, 'project_id' | 'id' | 'credentials'>,
): T {
  if (!row.credentials) return {} as T;
  return JSON.parse(open(secretKey, credentialsContext(row.project_id, row.id), row.credentials)) as T;
}

/**
 * A channel by its id alone: platform webhooks name only the channel (`/webhooks/telegram/{id}`).
 * Ids are unique across projects (one sequence per table); the channel row says which project.
 */
export async function findChannelById(store: Store, channelId: number): Promise<ChannelRow | undefined> {
  if (!Number.isSafeInteger(channelId) || channelId <= 0) return undefined;
  return store.db.selectFrom('channels').selectAll().where('id', '=', channelId).executeTakeFirst();
}

export async function findChannel(store: Store, projectId: number, channelId: number): Promise<ChannelRow | undefined> {
  return store.db
    .selectFrom('channels')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('id', '=', channelId)
    .executeTakeFirst();
}
