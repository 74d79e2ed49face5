import { sql } from 'kysely';
import type { DomainEvent } from '../realtime/bus.js';
import type { AppContext } from './context.js';
import { withWebhookEvents } from './webhooks.js';

/**
 * Auto-close (SPEC §4.3): a project with `settings.autoCloseHours` = N closes its new and open
 * dialogs in which nothing happened for N hours (no message either way since then), with the close
 * reason "auto-close" and no closing person. Idempotent and safe on several nodes at once: each
 * dialog is closed by one UPDATE that re-checks its state. Runs every minute on every node.
 */

export const AUTO_CLOSE_REASON = 'auto-close';
export const AUTO_CLOSER_NAME = 'Auto-close';

export async function autoCloseDue(ctx: AppContext): Promise<number> {
  const projects = await ctx.store.db.selectFrom('projects').select(['id', 'settings']).execute();
  const now = ctx.clock();
  let closed = 0;
  for (const p of projects) {
    const hours = autoCloseHours(p.settings);
    if (hours === null) continue;
    const cutoff = now - hours * 3_600_000;
    const events: DomainEvent[] = [];
    // With webhook endpoints in the project, its `dialog.closed` deliveries commit with the close.
    const rows = await withWebhookEvents(ctx, p.id, events, async (db, collected) => {
      const rows = await db
        .updateTable('dialogs')
        .set({
          status: 'closed',
          closed_at: now,
          closed_by: null,
          closed_by_name: AUTO_CLOSER_NAME,
          close_reason: AUTO_CLOSE_REASON,
          unread_count: 0,
          updated_at: now,
        })
        .where('project_id', '=', p.id)
        .where('status', 'in', ['new', 'open'])
        // The last activity: the last message, or the creation of a dialog without any. Its hour
        // (migration 010) is in the open dialogs' index: only those candidates are read in full.
        .where('active_hour', '<=', Math.floor(cutoff / 3_600_000))
        .where(sql<number>`COALESCE(last_message_at, created_at)`, '<', cutoff)
        .returning('id')
        .execute();
      for (const r of rows) collected.push({ type: 'dialog.updated', projectId: p.id, dialogId: r.id });
      return rows;
    });
    for (const e of events) ctx.bus.publish(e);
    if (rows.length > 0) ctx.log.info({ projectId: p.id, closed: rows.length, hours }, 'dialogs auto-closed');
    closed += rows.length;
  }
  return closed;
}

function autoCloseHours(settings: string): number | null {
  try {
    const h = (JSON.parse(settings || '{}') as { autoCloseHours?: unknown }).autoCloseHours;
    return typeof h === 'number' && Number.isInteger(h) && h >= 1 && h <= 720 ? h : null;
  } catch {
    return null;
  }
}

/** Runs autoCloseDue every `everyMs` until stopped. */
export function startAutoClose(ctx: AppContext, everyMs = 60_000): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = autoCloseDue(ctx).catch((err) => ctx.log.error({ err }, 'auto-close failed'));
  }, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
