import { createHash } from 'node:crypto';
import { invalid } from '../core/errors.js';
import { effectiveOrder, type LogFilters } from '../core/log-query.js';
import { startOfLocalDay, startOfNextLocalDay } from '../core/time.js';
import type { DialogFilter, SortSpec } from '../store/dialogs.js';
import { actorRole, actorUserId, type ProjectContext } from './context.js';

const isDate = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v);

/**
 * Turns the log's filters into a store filter: dates become instants in the project's time zone
 * (`to` inclusive of its whole day), and the actor's visibility is added.
 */
export function resolveLogFilter(ctx: ProjectContext, f: LogFilters): { filter: DialogFilter; sort: SortSpec } {
  const tz = ctx.project.timeZone;
  const createdFrom =
    f.from === undefined ? undefined : isDate(f.from) ? startOfLocalDay(f.from, tz) : Date.parse(f.from);
  const createdBefore =
    f.to === undefined ? undefined : isDate(f.to) ? startOfNextLocalDay(f.to, tz) : Date.parse(f.to) + 1;
  if (createdFrom !== undefined && createdBefore !== undefined && createdFrom >= createdBefore) {
    throw invalid('query.to', 'must not be before from');
  }
  const role = actorRole(ctx.actor);
  let visibleToManager: number | undefined;
  if (role === 'manager') {
    const uid = actorUserId(ctx.actor);
    // A manager-role token acts for no particular person: it sees only unassigned dialogs.
    visibleToManager = uid ?? -1;
  }
  return {
    filter: {
      projectId: ctx.project.id,
      status: f.status,
      managerIds: f.managerId,
      createdFrom,
      createdBefore,
      channels: f.channel,
      source: f.source,
      q: f.q,
      visibleToManager,
    },
    sort: { sort: f.sort, order: effectiveOrder(f) },
  };
}

/** A stable digest of the filters, so a cursor only continues the query it came from. */
export function filterDigest(f: LogFilters): string {
  const norm = {
    status: f.status,
    managerId: [...(f.managerId ?? [])].sort((a, b) => a - b),
    from: f.from ?? null,
    to: f.to ?? null,
    channel: [...(f.channel ?? [])].sort(),
    source: f.source ?? null,
    q: f.q ?? null,
    sort: f.sort,
    order: effectiveOrder(f),
  };
  return createHash('sha256').update(JSON.stringify(norm)).digest('base64url').slice(0, 16);
}
