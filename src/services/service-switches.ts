import type { ChannelRow } from '../store/channels.js';
import type { AppContext } from './context.js';
import { DISTRIBUTION_MODES, type DistributionMode, SERVICES, type Service } from './project-settings.js';

/**
 * The per-project service switches (SPEC R8, the seed's "Service management"), enforced: with SMS
 * off, SMS channels neither take client messages nor send; with messengers off, the same for
 * Telegram, Viber and Messenger; with the workspace off, nobody answers from the app. Delivery
 * receipts still update what was already sent. Read per project at most once a second (a webhook
 * flood must not read the project row per request); a change shows within that second on other
 * nodes, at once on the node that made it. The distribution mode (services/distribution.ts) rides along.
 */

const TTL_MS = 1_000;
const cache = new WeakMap<object, Map<number, { at: number; rules: ProjectRules }>>();

/** What the hot paths read of a project's settings: its service switches and distribution mode. */
export interface ProjectRules {
  services: Record<Service, boolean>;
  distributionMode: DistributionMode;
}

export async function projectRules(ctx: AppContext, projectId: number): Promise<ProjectRules> {
  let perStore = cache.get(ctx.store);
  if (!perStore) {
    perStore = new Map();
    cache.set(ctx.store, perStore);
  }
  const now = Date.now();
  const hit = perStore.get(projectId);
  if (hit && now - hit.at <= TTL_MS) return hit.rules;
  const row = await ctx.store.db
    .selectFrom('projects')
    .select('settings')
    .where('id', '=', projectId)
    .executeTakeFirst();
  let stored: Record<string, unknown> = {};
  let mode: unknown;
  try {
    const parsed = JSON.parse(row?.settings || '{}') as { services?: unknown; distributionMode?: unknown };
    if (parsed.services && typeof parsed.services === 'object') stored = parsed.services as Record<string, unknown>;
    mode = parsed.distributionMode;
  } catch {
    // malformed settings read as the defaults: every service on, first to answer
  }
  const rules: ProjectRules = {
    services: Object.fromEntries(SERVICES.map((k) => [k, stored[k] !== false])) as Record<Service, boolean>,
    distributionMode: (DISTRIBUTION_MODES as readonly unknown[]).includes(mode)
      ? (mode as DistributionMode)
      : 'first_to_answer',
  };
  if (perStore.size > 10_000) perStore.clear();
  perStore.set(projectId, { at: now, rules });
  return rules;
}

export async function projectServices(ctx: AppContext, projectId: number): Promise<Record<Service, boolean>> {
  return (await projectRules(ctx, projectId)).services;
}

/** The switch a channel depends on. */
export function serviceOfChannel(type: ChannelRow['type']): Service {
  return type === 'sms' || type === 'sms-http' ? 'sms' : 'messengers';
}

/** Forget what was read (a settings change on this node shows at once). */
export function forgetProjectServices(ctx: AppContext, projectId: number): void {
  cache.get(ctx.store)?.delete(projectId);
}
